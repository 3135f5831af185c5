namespace ModelMeter.Serving;

/// <summary>Which API a request came through: a gateway forwards it to the same path and reads its answer's counts that API's way.</summary>
public enum RequestApi
{
    /// <summary>Text or chat completions (<c>/v1/completions</c>, <c>/v1/chat/completions</c>, <c>/v1/generate</c>): the prompt says which.</summary>
    Generation,

    /// <summary><c>/v1/embeddings</c>: input tokens only, nothing generated.</summary>
    Embeddings,

    /// <summary><c>/v1/responses</c>: usage named <c>input_tokens</c>/<c>output_tokens</c>; a stream's counts come in its <c>response.completed</c> event.</summary>
    Responses,
}
