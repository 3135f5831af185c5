using ModelMeter.AspNetCore;
using ModelMeter.Metering;

namespace Microsoft.AspNetCore.Builder;

/// <summary><c>.MeteredBy("model")</c>: meters every request of your own endpoint, with no code in the handler but the token counts.</summary>
public static class MeteredEndpointExtensions
{
    /// <summary>
    /// Begins a <see cref="MeteredScope"/> on <paramref name="model"/> before the handler runs (refusing with 401/404/429/503 as
    /// ModelMeter would), puts it in <c>HttpContext.Features</c> for the handler to report tokens
    /// (<c>http.Features.Get&lt;MeteredScope&gt;()</c>), and completes it after: as served for a result below 400, failed otherwise.
    /// </summary>
    /// <param name="builder">The endpoint (or group).</param>
    /// <param name="model">A configured model, usually <c>"Backend": "External"</c>.</param>
    /// <param name="endpoint"><c>custom</c>, or one of <c>ModelMeter:ScopeEndpoints</c>.</param>
    public static TBuilder MeteredBy<TBuilder>(this TBuilder builder, string model, string endpoint = ModelMeterScope.DefaultEndpoint)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            MeteredScope scope;
            try
            {
                scope = await http.RequestServices.GetRequiredService<ModelMeterScope>().BeginAsync(model, http, endpoint);
            }
            catch (ModelMeterRefusedException refused)
            {
                return refused.ToResult(http);
            }

            http.Features.Set(scope);
            await using (scope)
            {
                object? result;
                try
                {
                    result = await next(context);
                }
                catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
                {
                    await scope.FailAsync(ErrorReason.ClientClosed);
                    throw;
                }

                var status = (result as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;
                await (status < 400 ? scope.CompleteAsync() : scope.FailAsync(status < 500 ? ErrorReason.BadRequest : ErrorReason.Internal));
                return result;
            }
        });
}
