namespace ModelMeter.AspNetCore.Generation;

/// <summary>A generation in flight, as an observer sees it.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Model">The model.</param>
/// <param name="Tenant">Who pays.</param>
public sealed record GenerationContext(string RequestId, string Model, string Tenant);
