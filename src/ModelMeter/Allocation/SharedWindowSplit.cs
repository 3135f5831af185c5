namespace ModelMeter.Allocation;

/// <summary>A shared device's bill for one window, split: each request's share, idle time, and load nobody metered.</summary>
/// <param name="BillUsd">Rate × the window's length, US dollars.</param>
/// <param name="Requests">Each request's share of the window, by (node, request id), US dollars.</param>
/// <param name="IdleUsd">Time with nothing running, US dollars.</param>
/// <param name="UnmeteredUsd">The share of load the server ran beyond the fleet's requests (callers that bypass the gateways), US dollars.</param>
public sealed record SharedWindowSplit(double BillUsd, IReadOnlyDictionary<(string Node, string RequestId), double> Requests, double IdleUsd, double UnmeteredUsd);
