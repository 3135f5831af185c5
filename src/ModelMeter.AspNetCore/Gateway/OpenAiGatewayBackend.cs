using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelMeter.AspNetCore.OpenAi.Contracts;
using ModelMeter.Serving;
using Polly.Timeout;

namespace ModelMeter.AspNetCore.Gateway;

/// <summary>
/// Forwards a generation to an OpenAI-compatible upstream: chat to <c>chat/completions</c>, text to <c>completions</c>.
/// The client's body goes as it was sent, every field kept, with only what the gateway must change (<c>model</c>, the
/// enforced token limit, <c>stream_options.include_usage</c> on a stream); the answer comes back as it came, event by
/// event (<see cref="GenerationChunk.Relayed"/>). Token counts come from the upstream's <c>usage</c>, checked, or are
/// estimated (and marked so) when it gives none.
/// </summary>
internal partial class OpenAiGatewayBackend(Upstream upstream) : IModelBackend
{
    /// <inheritdoc />
    public bool ForwardsRequests => true;

    public async IAsyncEnumerable<GenerationChunk> GenerateAsync(Prompt prompt, GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(upstream.Timeout, upstream.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var token = linked.Token;
        using var response = await SendAsync(prompt, request, token, cancellationToken);
        var chunks = request.Stream ? ReadStreamAsync(response, request.Api, token) : ReadWholeAsync(response, token);
        await using var reader = chunks.GetAsyncEnumerator(token);
        var text = new System.Text.StringBuilder();
        var delivered = 0;
        var cutOff = false;
        ReportedUsage? reported = null;
        while (true)
        {
            UpstreamAnswer answer;
            JsonElement raw;
            try
            {
                if (!await reader.MoveNextAsync())
                {
                    break;
                }

                (answer, raw) = reader.Current;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new GenerationException(GenerationFailure.UpstreamTimeout, $"The upstream did not finish within {upstream.Timeout.TotalSeconds:0.###} s.");
            }
            catch (UpstreamTooLargeException e)
            {
                throw new GenerationException(GenerationFailure.UpstreamBroken, $"The upstream's answer was cut off after {delivered} chunks: {e.Message}", inner: e);
            }
            catch (Exception e) when (e is IOException or HttpRequestException or JsonException)
            {
                throw new GenerationException(GenerationFailure.UpstreamBroken, $"The upstream broke off its answer after {delivered} chunks: {upstream.Scrub(e.Message)}", inner: e);
            }

            if (ErrorOf(answer) is { } error)
            {
                throw new GenerationException(GenerationFailure.UpstreamBroken, $"The upstream reported an error mid-answer: {upstream.Scrub(error)}");
            }

            if ((answer.Usage ?? answer.Response?.Usage) is { ValueKind: JsonValueKind.Object } usage)
            {
                reported = UpstreamUsage.Read(usage); // the last one counts; checked once the answer is whole
            }

            var delta = TextOf(answer, raw, request.Api);
            if (delta.Length > 0 && delivered >= request.MaxTokens)
            {
                // The client's limit is enforced here too: text past it (each chunk is at least a token) is not passed on.
                cutOff = true;
                break;
            }

            text.Append(delta);
            delivered += delta.Length > 0 ? 1 : 0;
            var finish = answer.Choices is [{ } choice, ..] ? choice.FinishReason : null;
            yield return new GenerationChunk(delta, delivered, finish) { Relayed = raw };
        }

        var charged = UpstreamUsage.Check(cutOff ? null : reported, request, prompt, delivered, () => Estimate(prompt, text.ToString(), delivered));
        yield return new GenerationChunk("", charged.OutputTokens, cutOff ? "length" : null, charged);
    }

    public void Dispose() => upstream.Client.Dispose();

    /// <summary>Token counts when the upstream gives none: a rough rule here; a tokenizer where one is configured.</summary>
    protected virtual TokenUsage Estimate(Prompt prompt, string text, int chunks) =>
        new((prompt.AllText().Length + 3) / 4, Math.Max(chunks, (text.Length + 3) / 4), Estimated: true);

    private async Task<HttpResponseMessage> SendAsync(Prompt prompt, GenerationRequest request, CancellationToken token, CancellationToken clientToken)
    {
        var path = request.Api switch
        {
            RequestApi.Embeddings => "embeddings",
            RequestApi.Responses => "responses",
            _ => prompt.IsChat ? "chat/completions" : "completions",
        };
        using var content = JsonContent.Create(Body(prompt, request), options: UpstreamJson);
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        await content.LoadIntoBufferAsync(token); // so that a retry can send it again
        HttpResponseMessage response;
        try
        {
            response = await upstream.Client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, token);
        }
        catch (OperationCanceledException) when (clientToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is TimeoutRejectedException or OperationCanceledException)
        {
            throw new GenerationException(GenerationFailure.UpstreamTimeout, $"The upstream did not answer within {upstream.Timeout.TotalSeconds:0.###} s.", inner: e);
        }
        catch (HttpRequestException e)
        {
            throw new GenerationException(GenerationFailure.UpstreamUnreachable, $"The upstream at {upstream.Client.BaseAddress} could not be reached: {upstream.Scrub(e.Message)}", inner: e);
        }

        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                var status = (int)response.StatusCode;
                if (status is 401 or 403)
                {
                    // The upstream refused ModelMeter's own credentials: not the tenant's fault, and its text may echo the key.
                    throw new GenerationException(GenerationFailure.UpstreamAuth,
                        $"The upstream refused this gateway's credentials ({status}); the operator must check the model's ApiKeyEnv.", status,
                        inner: new HttpRequestException(await ErrorMessageAsync(response, token)));
                }

                if (status is >= 300 and < 400)
                {
                    throw new GenerationException(GenerationFailure.UpstreamRejected, $"The upstream answered {status} (a redirect, which the gateway does not follow).", status);
                }

                throw new GenerationException(GenerationFailure.UpstreamRejected, $"The upstream answered {status}: {await ErrorMessageAsync(response, token)}", status);
            }
        }

        return response;
    }

    private object Body(Prompt prompt, GenerationRequest request)
    {
        if (request.ClientFields is { } fields)
        {
            return Forwarded(fields, request);
        }

        var stop = request.Stop is { Count: > 0 } s ? JsonSerializer.SerializeToElement(s) : (JsonElement?)null;
        var streamOptions = request.Stream ? new StreamOptions { IncludeUsage = true } : null;
        if (prompt.Messages is { } messages)
        {
            return new ChatCompletionRequest
            {
                Model = upstream.Model,
                Messages = messages.Select(m => new ChatMessageBody { Role = m.Role, Content = JsonSerializer.SerializeToElement(m.Content) }).ToList(),
                MaxTokens = request.UsesMaxCompletionTokens ? null : request.MaxTokens,
                MaxCompletionTokens = request.UsesMaxCompletionTokens ? request.MaxTokens : null,
                Temperature = request.Temperature, TopP = request.TopP, Seed = request.Seed, Stop = stop, User = request.User,
                Stream = request.Stream ? true : null, StreamOptions = streamOptions,
            };
        }

        return new CompletionRequest
        {
            Model = upstream.Model,
            Prompt = JsonSerializer.SerializeToElement(prompt.Text),
            MaxTokens = request.MaxTokens,
            Temperature = request.Temperature, TopP = request.TopP, Seed = request.Seed, Stop = stop, User = request.User,
            Stream = request.Stream ? true : null, StreamOptions = streamOptions,
        };
    }

    /// <summary>The client's body as sent, with the model's upstream name, the enforced token limit and, on a stream, usage asked for.</summary>
    private JsonObject Forwarded(IReadOnlyDictionary<string, JsonElement> fields, GenerationRequest request)
    {
        var body = new JsonObject();
        foreach (var (name, value) in fields)
        {
            body[name] = JsonNode.Parse(value.GetRawText());
        }

        body["model"] = upstream.Model;
        if (request.Api == RequestApi.Responses)
        {
            body["max_output_tokens"] = request.MaxTokens; // its stream always ends with usage: no stream_options
            return body;
        }

        if (request.Api == RequestApi.Embeddings)
        {
            return body; // nothing is generated: no limit to enforce
        }

        body[request.UsesMaxCompletionTokens ? "max_completion_tokens" : "max_tokens"] = request.MaxTokens;
        if (request.Stream)
        {
            var options = body["stream_options"] as JsonObject ?? [];
            options["include_usage"] = true; // ModelMeter meters from it; the client gets it only if it asked
            body["stream_options"] = options;
        }

        return body;
    }
}
