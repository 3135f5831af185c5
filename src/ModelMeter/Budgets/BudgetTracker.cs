using ModelMeter.Metering;

namespace ModelMeter.Budgets;

/// <summary>
/// Keeps each budget's spending in its current period. Enforcing budgets reserve an estimate when a
/// request is admitted and settle the real cost when it ends; a request is refused once spent plus
/// reserved reaches the limit, so concurrent requests cannot overshoot it by more than the requests
/// already in flight (as estimated).
/// </summary>
public sealed class BudgetTracker : IBudgetStore
{
    private readonly State[] _states;
    private readonly Dictionary<string, State> _byName;
    private readonly TimeProvider _time;
    private readonly ModelMeterMetrics _metrics;
    private readonly Lock _gate = new();

    /// <summary>Tracks <paramref name="budgets"/> from their current periods, exporting spent and limit to <paramref name="metrics"/>.</summary>
    public BudgetTracker(IEnumerable<BudgetDefinition> budgets, TimeProvider time, ModelMeterMetrics metrics)
    {
        _time = time;
        _metrics = metrics;
        var now = time.GetUtcNow();
        _states = budgets.Select(b => new State(b, b.PeriodOf(now))).ToArray();
        _byName = _states.ToDictionary(s => s.Budget.Name, StringComparer.Ordinal);
        foreach (var state in _states)
        {
            Publish(state);
        }
    }

    /// <summary>The budgets.</summary>
    public IReadOnlyList<BudgetDefinition> Budgets => _states.Select(s => s.Budget).ToArray();

    /// <summary>Sets what each budget has spent so far in its current period (from the ledger), without notifying thresholds already passed.</summary>
    public void Seed(Func<BudgetDefinition, DateTimeOffset, DateTimeOffset, double> spentUsd)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var state in _states)
            {
                Roll(state, now);
                state.SpentUsd = spentUsd(state.Budget, state.Period.Start, now);
                foreach (var threshold in state.Budget.Thresholds.Where(t => state.SpentUsd >= t * state.Budget.LimitUsd))
                {
                    state.Notified.Add(threshold);
                }

                Publish(state);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<BudgetAdmission> AdmitAsync(string requestId, string model, string tenant, double estimateUsd, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Admit(model, tenant, estimateUsd, requestId));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<BudgetCrossing>> SettleAsync(BudgetAdmission admission, double costUsd, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Settle(admission, costUsd));

    /// <inheritdoc />
    public ValueTask<double> SpentAsync(BudgetDefinition budget, CancellationToken cancellationToken = default) => ValueTask.FromResult(SpentUsd(budget.Name));

    /// <summary>Admits a request unless an enforcing budget in scope is used up; reserves <paramref name="estimateUsd"/> in each budget in scope.</summary>
    public BudgetAdmission Admit(string model, string tenant, double estimateUsd, string requestId = "")
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var inScope = _states.Where(s => s.Budget.Covers(model, tenant)).ToArray();
            foreach (var state in inScope)
            {
                Roll(state, now);
                if (!state.Budget.Enforce)
                {
                    continue;
                }

                // Spent plus what requests in flight are expected to spend: once that reaches the limit, the
                // budget is used up. A request admitted just below it can overshoot by its own cost at most.
                if (state.SpentUsd >= state.Budget.LimitUsd)
                {
                    return new BudgetAdmission(requestId, [], 0, state.Budget.Name, state.Period.End - now);
                }

                if (state.SpentUsd + state.ReservedUsd >= state.Budget.LimitUsd)
                {
                    return new BudgetAdmission(requestId, [], 0, state.Budget.Name, BudgetAdmission.HeldRetryAfter) { HeldByRequestsInFlight = true };
                }

                // A reservation is never more than what is left: an estimate, however high, cannot shut the budget alone.
                estimateUsd = Math.Min(estimateUsd, state.Budget.LimitUsd - state.SpentUsd - state.ReservedUsd);
            }

            foreach (var state in inScope)
            {
                state.ReservedUsd += estimateUsd;
            }

            return new BudgetAdmission(requestId, inScope.Select(s => (s.Budget, s.Period.Start)).ToArray(), estimateUsd, null, TimeSpan.Zero);
        }
    }

    /// <summary>Replaces the admission's reservation with the real cost; returns the thresholds this crossed.</summary>
    public IReadOnlyList<BudgetCrossing> Settle(BudgetAdmission admission, double costUsd)
    {
        if (!admission.TryClaimSettlement())
        {
            return [];
        }

        var crossings = new List<BudgetCrossing>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var (budget, reservedIn) in admission.Reserved)
            {
                var state = _byName[budget.Name];
                Roll(state, now);

                // The reservation belongs to the period it was taken in: once that period has ended (here or in an
                // earlier call), the new period's reservations are other requests' and stay. The cost counts when it ends.
                if (state.Period.Start == reservedIn)
                {
                    state.ReservedUsd = Math.Max(0, state.ReservedUsd - admission.EstimateUsd);
                }

                state.SpentUsd += costUsd;
                foreach (var threshold in state.Budget.Thresholds)
                {
                    if (state.SpentUsd >= threshold * state.Budget.LimitUsd && state.Notified.Add(threshold))
                    {
                        crossings.Add(new BudgetCrossing(state.Budget, threshold, state.SpentUsd, state.Period.Start, state.Period.End));
                    }
                }

                Publish(state);
            }
        }

        return crossings;
    }

    /// <summary>What a budget has spent in its current period, US dollars.</summary>
    public double SpentUsd(string budget)
    {
        lock (_gate)
        {
            var state = _byName[budget];
            Roll(state, _time.GetUtcNow());
            return state.SpentUsd;
        }
    }

    /// <summary>Starts a new period when <paramref name="now"/> is past the current one.</summary>
    private void Roll(State state, DateTimeOffset now)
    {
        if (now < state.Period.End)
        {
            return;
        }

        state.Period = state.Budget.PeriodOf(now);
        state.SpentUsd = 0;
        state.ReservedUsd = 0;
        state.Notified.Clear();
        Publish(state);
    }

    private void Publish(State state)
    {
        _metrics.BudgetSpent.WithLabels(state.Budget.Name).Set(state.SpentUsd);
        _metrics.BudgetLimit.WithLabels(state.Budget.Name).Set(state.Budget.LimitUsd);
    }

    private sealed class State(BudgetDefinition budget, (DateTimeOffset Start, DateTimeOffset End) period)
    {
        public BudgetDefinition Budget { get; } = budget;

        public (DateTimeOffset Start, DateTimeOffset End) Period { get; set; } = period;

        public double SpentUsd { get; set; }

        public double ReservedUsd { get; set; }

        public HashSet<double> Notified { get; } = [];
    }
}
