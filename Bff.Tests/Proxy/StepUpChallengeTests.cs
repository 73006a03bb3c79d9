using Bff.Proxy;

namespace Bff.Tests.Proxy;

/// <summary>
/// The RFC 9110 challenge grammar as APIs actually write it: several challenges in one header, token68, quoted strings
/// with escapes, any case for scheme and parameter names. Malformed input is never half-read.
/// </summary>
public sealed class StepUpChallengeTests
{
    [Theory]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"a b\", max_age=7", "a b", 7)]
    [InlineData("Basic dXNlcjpwYXNz==, Bearer error=insufficient_user_authentication, max_age=\"0\"", null, 0)]
    [InlineData("Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Bearer error=\"insufficient_user_authentication\",acr_values=mfa", "mfa", null)]
    [InlineData("bEaReR   Error = \"insufficient_user_authentication\" ,  ACR_VALUES=\"mfa\"  ,", "mfa", null)]
    [InlineData(",, Bearer error=\"insufficient_user_authentication\", acr_values=\"urn:mace:incommon:iap:silver\"", "urn:mace:incommon:iap:silver", null)]
    public void A_step_up_challenge_is_found_among_others(string header, string? acr, int? maxAge)
    {
        var outcome = StepUpChallenge.Read(header, out var requirement, out _);

        Assert.Equal(StepUpChallenge.Outcome.StepUp, outcome);
        Assert.Equal(acr, requirement!.AcrValuesParameter);
        Assert.Equal(maxAge, requirement.MaxAge);
    }

    [Fact]
    public void Challenges_in_separate_headers_are_all_read()
    {
        var outcome = StepUpChallenge.Read(new(["Basic realm=\"x\"", "Bearer error=\"insufficient_user_authentication\", max_age=60"]), out var requirement, out _);

        Assert.Equal(StepUpChallenge.Outcome.StepUp, outcome);
        Assert.Equal(60, requirement!.MaxAge);
    }

    [Theory]
    [InlineData("Bearer error=\"invalid_token\"")]
    [InlineData("Bearer realm=\"api\"")]
    [InlineData("Basic error=\"insufficient_user_authentication\", max_age=5")]
    [InlineData("Bearer error=\"INSUFFICIENT_USER_AUTHENTICATION\", max_age=5")]
    [InlineData("Bearer error_description=\"insufficient_user_authentication\", max_age=5")]
    [InlineData("")]
    public void Other_challenges_are_not_step_ups(string header)
    {
        Assert.Equal(StepUpChallenge.Outcome.None, StepUpChallenge.Read(header, out _, out _));
    }

    [Theory]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"mfa")]
    [InlineData("Bearer error=\"insufficient_user_authentication\" max_age=5")]
    [InlineData("error=\"insufficient_user_authentication\", max_age=5")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"a\u0001b\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"a\tb\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"\u00e9\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", max_age=99999999999")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", max_age=\" 5\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", Max_Age=5, max_age=6")]
    public void Malformed_or_unusable_step_up_challenges_are_refused_whole(string header)
    {
        Assert.Equal(StepUpChallenge.Outcome.Unusable, StepUpChallenge.Read(header, out var requirement, out var problem));
        Assert.Null(requirement);
        Assert.NotNull(problem);
    }

    [Fact]
    public void An_overlong_header_is_not_read()
    {
        var header = "Bearer error=\"insufficient_user_authentication\", acr_values=\"mfa\", x=\"" + new string('a', 9000) + "\"";

        Assert.Equal(StepUpChallenge.Outcome.Unusable, StepUpChallenge.Read(header, out _, out _));
    }
}
