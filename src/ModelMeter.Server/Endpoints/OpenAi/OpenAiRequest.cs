namespace ModelMeter.Server.Endpoints.OpenAi;

/// <summary>What either OpenAI body asks for, in the shape the shared generation steps take.</summary>
internal sealed record OpenAiRequest(string? Model, GenerationInput Input, bool Stream, bool IncludeUsage, IResult? Problem)
{
    public static OpenAiRequest From<TBody>(TBody body) => body switch
    {
        CompletionBody c => Completion(c),
        ChatBody c => Chat(c),
        _ => throw new ArgumentException($"Not an OpenAI body: {typeof(TBody).Name}"),
    };

    private static OpenAiRequest Completion(CompletionBody body)
    {
        var (prompt, problem) = OpenAiPrompts.FromCompletion(body.Prompt);
        var input = new GenerationInput(prompt, body.MaxTokens, body.Temperature, body.TopP, body.Seed, body.User);
        return new OpenAiRequest(body.Model, input, body.Stream == true, body.StreamOptions?.IncludeUsage == true, problem ?? OnlyOneChoice(body.N));
    }

    private static OpenAiRequest Chat(ChatBody body)
    {
        var (prompt, problem) = OpenAiPrompts.FromChat(body.Messages);
        var limitField = body.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens";
        var input = new GenerationInput(prompt ?? "", body.MaxCompletionTokens ?? body.MaxTokens, body.Temperature, body.TopP, body.Seed, body.User, "messages", limitField);
        return new OpenAiRequest(body.Model, input, body.Stream == true, body.StreamOptions?.IncludeUsage == true, problem ?? OnlyOneChoice(body.N));
    }

    private static IResult? OnlyOneChoice(int? n) =>
        n is null or 1 ? null : Problems.BadField("n", $"n is {n}; ModelMeter generates one choice per request.");
}
