# ModelMeter's server image.
#   docker build -t modelmeter .
#   docker run --rm -p 127.0.0.1:8000:8080 -v modelmeter-data:/data \
#     -e ModelMeter__Auth__AllowAnonymousRemote=true modelmeter      # or turn auth on: README, "Auth in five lines"
# The base images could not be pulled where ModelMeter is built, so this file has not been built there; the test
# suite runs its publish command and starts the output as the image does (tests/ModelMeter.IntegrationTests/Deploy).

# Build: the .NET SDK, and Node.js with npm because the build runs `npm ci` in web/ (the dashboard's chart library).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Without ReadyToRun: it made the server ready 1.2 s sooner and its first request 0.2 s quicker, but since the server
# runs without tiered compilation its precompiled code is never compiled again, and one-token requests over HTTP were
# about 10 % slower (docs/benchmarks.md, fifteenth session).
RUN dotnet publish src/ModelMeter.Server -c Release -o /app

# Run: the ASP.NET Core runtime, as the image's non-root user ($APP_UID, named app).
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# Models and the ledger live in the volume /data: the configuration's relative paths lead there (models/NAME is
# /data/models/NAME, where the demo models are written on first start and a real model's folder goes;
# data/ledger.db is /data/ledger/ledger.db).
RUN mkdir -p /data/models /data/ledger \
 && ln -sT /data/models /app/models \
 && ln -sT /data/ledger /app/data \
 && chown -R "$APP_UID" /data
VOLUME /data
USER $APP_UID
# Every interface, port 8080 (the base image says the same). Beyond loopback the server refuses to start with auth off
# unless ModelMeter__Auth__AllowAnonymousRemote=true says so on purpose.
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 \
  CMD ["dotnet", "ModelMeter.Server.dll", "health", "--url", "http://127.0.0.1:8080"]
# Without arguments it serves; `docker run modelmeter report --by tenant` runs a verb.
ENTRYPOINT ["dotnet", "ModelMeter.Server.dll"]
