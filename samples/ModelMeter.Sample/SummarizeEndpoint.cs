using ModelMeter.AspNetCore;

namespace ModelMeter.Sample;

/// <summary>The team's own route, metered with a scope: begin on a model, count tokens, complete (or fail).</summary>
public static class SummarizeEndpoint
{
    public sealed record Request(string Text, int MaxTokens = 16);

    public static async Task<IResult> HandleAsync(Request request, HttpContext http, ModelMeterScope meter, EchoModel model)
    {
        if (string.IsNullOrWhiteSpace(request.Text))
        {
            return Results.Problem(statusCode: 400, title: "Invalid field 'text'", detail: "text is empty.");
        }

        MeteredScope scope;
        try
        {
            scope = await meter.BeginAsync("echo", http, endpoint: "summarize", maxOutputTokens: request.MaxTokens);
        }
        catch (ModelMeterRefusedException refused)
        {
            return refused.ToResult(http);
        }

        await using (scope)
        {
            scope.InputTokens = EchoModel.Tokenize(request.Text).Length;
            var words = new List<string>();
            await foreach (var word in model.GenerateAsync(request.Text, request.MaxTokens, http.RequestAborted))
            {
                words.Add(word);
                scope.AddOutputTokens(1);
            }

            var charge = await scope.CompleteAsync();
            return Results.Ok(new { summary = string.Join(' ', words), request_id = scope.RequestId, cost_usd = charge.CostUsd });
        }
    }
}
