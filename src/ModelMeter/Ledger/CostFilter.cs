namespace ModelMeter.Ledger;

/// <summary>
/// Which requests a report covers: one model's, one tenant's, or both conditions at once. A filtered report holds no
/// idle time (it belongs to no model and no tenant); an empty filter covers everything, idle included.
/// </summary>
/// <param name="Model">Only this model's requests; null for all.</param>
/// <param name="Tenant">Only this tenant's requests (demo traffic is the tenant <c>demo</c>); null for all.</param>
public sealed record CostFilter(string? Model = null, string? Tenant = null)
{
    /// <summary>Whether the filter keeps everything (idle time included).</summary>
    public bool IsEmpty => Model is null && Tenant is null;
}
