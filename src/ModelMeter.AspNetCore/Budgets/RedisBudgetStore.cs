using System.Globalization;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Budgets;
using ModelMeter.Metering;
using StackExchange.Redis;

namespace ModelMeter.AspNetCore.Budgets;

/// <summary>
/// Budgets shared by every replica, in Redis: one hash per budget and period (<c>spent</c>, <c>reserved</c>, and a
/// <c>notified:&lt;threshold&gt;</c> flag per threshold crossed), expiring two days after its period. Admission and
/// settlement are each one Lua script, so they are atomic across the fleet; both are idempotent by request id (a
/// reservation key per request and budget, a settled key per request). When Redis cannot answer, admission follows
/// <see cref="BudgetStoreFailureMode"/>.
/// </summary>
internal sealed partial class RedisBudgetStore(
    IConnectionMultiplexer redis, IReadOnlyList<BudgetDefinition> budgets, BudgetStoreOptions store, TimeProvider time, ModelMeterMetrics metrics, ILogger<RedisBudgetStore> logger) : IBudgetStore
{
    // KEYS[1..n]: each budget's hash for the current period; ARGV[1]: estimate, ARGV[2]: seconds to keep keys,
    // ARGV[2+i]: budget i's limit when it enforces, else -1. KEYS[n+1..2n]: the request's reservation key in each.
    // Returns {0, reserved} when admitted (the estimate, capped at what is left of each enforcing budget), else
    // {index of the refusing budget, 1 when it is spent or 0 when only reserved by requests in flight}.
    private const string AdmitScript = """
        local n = #KEYS / 2
        local reserve = tonumber(ARGV[1])
        for i = 1, n do
          local limit = tonumber(ARGV[2 + i])
          if limit >= 0 then
            local spent = tonumber(redis.call('HGET', KEYS[i], 'spent') or '0')
            local reserved = tonumber(redis.call('HGET', KEYS[i], 'reserved') or '0')
            if spent >= limit then return {i, 1} end
            if spent + reserved >= limit then return {i, 0} end
            reserve = math.min(reserve, limit - spent - reserved)
          end
        end
        local text = string.format('%.17g', reserve)
        for i = 1, n do
          if redis.call('SET', KEYS[n + i], text, 'NX', 'EX', ARGV[2]) then
            redis.call('HINCRBYFLOAT', KEYS[i], 'reserved', text)
          end
          redis.call('EXPIRE', KEYS[i], ARGV[2])
        end
        return {0, text}
        """;

    // Per budget i, three keys: KEYS[3i-2] the hash of the period it settles in (now), KEYS[3i-1] the hash the
    // reservation was taken in, KEYS[3i] the reservation key; the last key marks the request settled.
    // ARGV[1]: cost, ARGV[2]: seconds to keep keys, ARGV[2+2i-1]: limit, ARGV[2+2i]: thresholds "0.5,1".
    // Returns each budget's spent (as text), then (index, threshold, spent) for every threshold crossed here.
    private const string SettleScript = """
        local n = (#KEYS - 1) / 3
        local result = {}
        if not redis.call('SET', KEYS[#KEYS], '1', 'NX', 'EX', ARGV[2]) then return result end
        for i = 1, n do
          local hash, reservedIn, reservation = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
          local estimate = redis.call('GET', reservation)
          if estimate then
            redis.call('DEL', reservation)
            if tonumber(redis.call('HINCRBYFLOAT', reservedIn, 'reserved', '-' .. estimate)) < 0 then
              redis.call('HSET', reservedIn, 'reserved', '0')
            end
          end
          result[i] = redis.call('HINCRBYFLOAT', hash, 'spent', ARGV[1])
          redis.call('EXPIRE', hash, ARGV[2])
        end
        for i = 1, n do
          local spent, limit = tonumber(result[i]), tonumber(ARGV[1 + 2 * i])
          for threshold in string.gmatch(ARGV[2 + 2 * i], '[^,]+') do
            if spent >= tonumber(threshold) * limit and redis.call('HSETNX', KEYS[3 * i - 2], 'notified:' .. threshold, '1') == 1 then
              table.insert(result, tostring(i)); table.insert(result, threshold); table.insert(result, result[i])
            end
          end
        end
        return result
        """;

    public IReadOnlyList<BudgetDefinition> Budgets => budgets;

    public async ValueTask<BudgetAdmission> AdmitAsync(string requestId, string model, string tenant, double estimateUsd, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var inScope = budgets.Where(b => b.Covers(model, tenant)).Select(b => (Budget: b, Period: b.PeriodOf(now))).ToArray();
        if (inScope.Length == 0)
        {
            return new BudgetAdmission(requestId, [], 0, null, TimeSpan.Zero);
        }

        var keys = inScope.Select(s => PeriodKey(s.Budget, s.Period.Start)).Concat(inScope.Select(s => ReservationKey(s.Budget, s.Period.Start, requestId))).ToArray();
        RedisValue[] arguments = [Text(estimateUsd), KeepSeconds(inScope, now), .. inScope.Select(s => (RedisValue)(s.Budget.Enforce ? Text(s.Budget.LimitUsd) : "-1"))];
        try
        {
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(AdmitScript, keys, arguments))!;
            var refusedBy = (int)result[0];
            if (refusedBy > 0)
            {
                var (budget, period) = inScope[refusedBy - 1];
                return (int)result[1] == 1
                    ? new BudgetAdmission(requestId, [], 0, budget.Name, period.End - now)
                    : new BudgetAdmission(requestId, [], 0, budget.Name, BudgetAdmission.HeldRetryAfter) { HeldByRequestsInFlight = true };
            }

            var reserved = double.Parse((string)result[1]!, System.Globalization.CultureInfo.InvariantCulture);
            return new BudgetAdmission(requestId, [.. inScope.Select(s => (s.Budget, s.Period.Start))], reserved, null, TimeSpan.Zero);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            metrics.BudgetStoreUnavailable.WithLabels("admit").Inc();
            LogUnavailable(e, "admit", store.OnUnavailable);
            if (store.OnUnavailable == BudgetStoreFailureMode.Closed && inScope.FirstOrDefault(s => s.Budget.Enforce) is { Budget: not null } enforcing)
            {
                return new BudgetAdmission(requestId, [], 0, enforcing.Budget.Name, TimeSpan.FromSeconds(5));
            }

            return new BudgetAdmission(requestId, [], 0, null, TimeSpan.Zero); // nothing reserved, so nothing to settle but the cost
        }
    }

    public async ValueTask<IReadOnlyList<BudgetCrossing>> SettleAsync(BudgetAdmission admission, double costUsd, CancellationToken cancellationToken = default)
    {
        if (!admission.TryClaimSettlement())
        {
            return [];
        }

        // An admission that reserved nothing (no budget covered it, or Redis was down then) adds nothing: in the second
        // case the cost is in the ledger, and reconciliation brings it into the budget.
        if (admission.Reserved.Count == 0 || costUsd < 0)
        {
            return [];
        }

        var now = time.GetUtcNow();
        var settled = admission.Reserved.Select(r => (r.Budget, ReservedIn: r.PeriodStart, Period: r.Budget.PeriodOf(now))).ToArray();

        var keys = settled.SelectMany(s => new RedisKey[] { PeriodKey(s.Budget, s.Period.Start), PeriodKey(s.Budget, s.ReservedIn), ReservationKey(s.Budget, s.ReservedIn, admission.RequestId) })
            .Append(Key($"settled:{admission.RequestId}")).ToArray();
        RedisValue[] arguments =
        [
            Text(costUsd), KeepSeconds(settled.Select(s => (s.Budget, s.Period)), now),
            .. settled.SelectMany(s => new RedisValue[] { Text(s.Budget.LimitUsd), string.Join(',', s.Budget.Thresholds.Select(Text)) }),
        ];
        try
        {
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(SettleScript, keys, arguments))!;
            var crossings = new List<BudgetCrossing>();
            for (var i = 0; i < settled.Length && i < result.Length; i++)
            {
                metrics.BudgetSpent.WithLabels(settled[i].Budget.Name).Set(Number((string)result[i]!));
            }

            for (var i = settled.Length; i + 2 < result.Length; i += 3)
            {
                var (budget, _, period) = settled[int.Parse((string)result[i]!, CultureInfo.InvariantCulture) - 1];
                crossings.Add(new BudgetCrossing(budget, Number((string)result[i + 1]!), Number((string)result[i + 2]!), period.Start, period.End));
            }

            return crossings;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            metrics.BudgetStoreUnavailable.WithLabels("settle").Inc();
            LogUnavailable(e, "settle", store.OnUnavailable); // the cost is in the ledger; reconciliation brings it back
            return [];
        }
    }

    /// <summary>Sets what <paramref name="budget"/> has spent in the period holding now (from the fleet ledger).</summary>
    public async Task SetSpentAsync(BudgetDefinition budget, DateTimeOffset periodStart, double spentUsd)
    {
        var key = PeriodKey(budget, periodStart);
        var database = redis.GetDatabase();
        await database.HashSetAsync(key, "spent", Text(spentUsd));
        await database.KeyExpireAsync(key, budget.PeriodOf(periodStart).End.AddDays(2) - time.GetUtcNow());
        metrics.BudgetSpent.WithLabels(budget.Name).Set(spentUsd);
    }

    /// <inheritdoc />
    public async ValueTask<double> SpentAsync(BudgetDefinition budget, CancellationToken cancellationToken = default) =>
        await SpentAsync(budget, budget.PeriodOf(time.GetUtcNow()).Start);

    /// <summary>What <paramref name="budget"/> has spent in the period starting at <paramref name="periodStart"/>, per Redis.</summary>
    public async Task<double> SpentAsync(BudgetDefinition budget, DateTimeOffset periodStart) =>
        await redis.GetDatabase().HashGetAsync(PeriodKey(budget, periodStart), "spent") is { IsNull: false } value ? Number((string)value!) : 0;

    private RedisKey PeriodKey(BudgetDefinition budget, DateTimeOffset periodStart) => Key($"budget:{budget.Name}:{periodStart.ToUnixTimeSeconds()}");

    private RedisKey ReservationKey(BudgetDefinition budget, DateTimeOffset periodStart, string requestId) =>
        Key($"reservation:{budget.Name}:{periodStart.ToUnixTimeSeconds()}:{requestId}");

    private RedisKey Key(string name) => store.Redis.KeyPrefix + name;

    /// <summary>Keys live until two days after the latest period end among them.</summary>
    private static RedisValue KeepSeconds(IEnumerable<(BudgetDefinition Budget, (DateTimeOffset Start, DateTimeOffset End) Period)> budgets, DateTimeOffset now) =>
        (long)Math.Ceiling((budgets.Max(b => b.Period.End).AddDays(2) - now).TotalSeconds);

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "The budget store (Redis) could not {Operation}; budgets are {Mode} until it answers")]
    private partial void LogUnavailable(Exception exception, string operation, BudgetStoreFailureMode mode);
}
