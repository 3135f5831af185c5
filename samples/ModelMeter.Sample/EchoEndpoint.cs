using ModelMeter.AspNetCore;

namespace ModelMeter.Sample;

/// <summary>The same model behind a route metered by <c>.MeteredBy("echo")</c>: the handler only reports its token counts.</summary>
public static class EchoEndpoint
{
    public sealed record Request(string Text, int MaxTokens = 16);

    public static async Task<IResult> HandleAsync(Request request, HttpContext http, EchoModel model)
    {
        if (string.IsNullOrWhiteSpace(request.Text))
        {
            return Results.Problem(statusCode: 400, title: "Invalid field 'text'", detail: "text is empty.");
        }

        var scope = http.Features.Get<MeteredScope>()!;
        scope.InputTokens = EchoModel.Tokenize(request.Text).Length;
        var words = new List<string>();
        await foreach (var word in model.GenerateAsync(request.Text, request.MaxTokens, http.RequestAborted))
        {
            words.Add(word);
            scope.AddOutputTokens(1);
        }

        return Results.Ok(new { echo = string.Join(' ', words), request_id = scope.RequestId });
    }
}
