using ModelMeter.Budgets;
using ModelMeter.Server.Models;
using ModelMeter.Serving;

namespace ModelMeter.Server.Endpoints;

/// <summary>A request that passed validation, the context check and the budgets, ready to run.</summary>
internal sealed record AdmittedGeneration(
    ServedModel Served, string Endpoint, GenerationRun.Payer Payer, IReadOnlyList<int> PromptIds, GenerationRequest Request, BudgetAdmission Budget);
