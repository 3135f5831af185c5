using ModelMeter.AspNetCore.Generation;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Tests.Generation;

/// <summary>The one error table: every kind answers with a status, a bounded metric reason, a title and OpenAI's type.</summary>
public sealed class GenerationErrorsTests
{
    public static TheoryData<GenerationErrorKind> Kinds() => [.. Enum.GetValues<GenerationErrorKind>()];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryKind_HasAnErrorStatusAKnownReasonATitleAndAnOpenAiType(GenerationErrorKind kind)
    {
        var error = new GenerationError(kind, "why", "field");

        Assert.InRange(error.StatusCode, 400, 599);
        Assert.Contains(GenerationErrors.Reason(kind), ErrorReason.All); // a metric label from the bounded set, never a new series
        Assert.False(string.IsNullOrWhiteSpace(GenerationErrors.Title(error)));
        Assert.False(string.IsNullOrWhiteSpace(GenerationErrors.OpenAiType(error)));
    }

    [Fact]
    public void ClientErrors_AreClientStatuses_ServerErrors_AreServerStatuses()
    {
        Assert.Equal(401, new GenerationError(GenerationErrorKind.Unauthorized, "").StatusCode);
        Assert.Equal(404, new GenerationError(GenerationErrorKind.UnknownModel, "").StatusCode);
        Assert.Equal(429, new GenerationError(GenerationErrorKind.BudgetExhausted, "").StatusCode);
        Assert.Equal(503, new GenerationError(GenerationErrorKind.LedgerUnavailable, "").StatusCode);
        Assert.Equal(502, new GenerationError(GenerationErrorKind.UpstreamAuth, "").StatusCode); // not 401: the tenant's key is fine
        Assert.Equal(504, new GenerationError(GenerationErrorKind.UpstreamTimeout, "").StatusCode);
    }

    [Theory]
    [InlineData(404, 404, "invalid_request_error", "upstream_404")]
    [InlineData(503, 503, "upstream_error", "upstream_503")]
    [InlineData(200, 502, "upstream_error", "upstream_200")] // an upstream "refusal" with a success status is not passed on as one
    public void UpstreamRejected_PassesOnTheUpstreamsErrorStatus(int upstream, int status, string type, string code)
    {
        var error = new GenerationError(GenerationErrorKind.UpstreamRejected, "no") { UpstreamStatus = upstream };

        Assert.Equal((status, type, code), (error.StatusCode, GenerationErrors.OpenAiType(error), GenerationErrors.OpenAiCode(error)));
    }

    [Fact]
    public void InvalidField_TitleNamesTheField()
    {
        Assert.Equal("Invalid field 'max_tokens'", GenerationErrors.Title(new GenerationError(GenerationErrorKind.InvalidField, "too many", "max_tokens")));
    }

    [Theory]
    [InlineData(ModelMeter.Serving.GenerationFailure.UpstreamAuth, GenerationErrorKind.UpstreamAuth)]
    [InlineData(ModelMeter.Serving.GenerationFailure.UpstreamTimeout, GenerationErrorKind.UpstreamTimeout)]
    [InlineData(ModelMeter.Serving.GenerationFailure.UpstreamBroken, GenerationErrorKind.UpstreamBroken)]
    public void BackendFailures_MapToTheirKind(ModelMeter.Serving.GenerationFailure failure, GenerationErrorKind kind) =>
        Assert.Equal(kind, GenerationErrors.KindOf(failure));
}
