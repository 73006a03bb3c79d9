using Bff.Sessions;

namespace Bff.Tests.Sessions;

/// <summary>
/// The cookie value: 256 random bits and the subject's slot tag, whose store id keeps one user's keys in one Redis
/// Cluster slot; values issued before the tag existed stay valid; anything else never reaches the store.
/// </summary>
public sealed class SessionKeyTests
{
    [Fact]
    public void A_new_key_carries_its_subjects_slot_tag_and_its_id_names_that_tag_as_a_hash_tag()
    {
        var key = SessionKey.Create("alice");
        var other = SessionKey.Create("alice");

        Assert.Matches("^[A-Za-z0-9_-]{43}\\.[0-9a-f]{4}$", key);
        Assert.NotEqual(key, other);
        Assert.Equal(SessionKey.SlotTag("alice"), key[^4..]);
        Assert.Equal(SessionKey.SlotTag("alice"), other[^4..]);
        var id = SessionKey.Id(key);
        Assert.Equal(SessionKey.Hash(key) + "{" + SessionKey.SlotTag("alice") + "}", id);
        // Log lines that show a session by its key or by its id show the same 16 characters.
        Assert.Equal(SessionKey.LogId(key), id[..16]);
        Assert.True(SessionKey.IsWellFormed(key));
    }

    [Fact]
    public void A_key_from_before_slot_tags_keeps_its_bare_hash_as_id()
    {
        var old = new string('A', 43);

        Assert.True(SessionKey.IsWellFormed(old));
        Assert.Equal(SessionKey.Hash(old), SessionKey.Id(old));
    }

    [Theory]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.1A2B")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-1a2b")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.1a2")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.{a2}")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.1a2bc")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+.1a2b")]
    public void A_value_of_any_other_shape_is_malformed(string value) => Assert.False(SessionKey.IsWellFormed(value));
}
