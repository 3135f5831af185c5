namespace ModelMeter.Allocation;

/// <summary>A reading of how many requests a shared device's server runs (its own gauge, such as vLLM's <c>vllm:num_requests_running</c>).</summary>
/// <param name="AtMs">When it was read, Unix milliseconds.</param>
/// <param name="Running">Requests running then, metered or not.</param>
public readonly record struct LoadSample(long AtMs, double Running);
