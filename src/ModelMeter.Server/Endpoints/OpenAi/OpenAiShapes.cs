namespace ModelMeter.Server.Endpoints.OpenAi;

/// <summary>Small pieces of OpenAI's response shapes.</summary>
internal static class OpenAiShapes
{
    public static string Id(bool chat, string requestId) => (chat ? "chatcmpl-" : "cmpl-") + requestId;

    public static long Created(HttpContext http) => http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds();

    public static object Usage(int promptTokens, int completionTokens) =>
        new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens };
}
