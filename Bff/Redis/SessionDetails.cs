using System.Globalization;
using Bff.Sessions;

namespace Bff.Redis;

/// <summary>
/// What a list of a user's sessions shows of one session, kept in Redis beside the subject's index
/// (<see cref="RedisKeys.SubjectSessionDetails"/>) so that a list reads no token payload:
/// <c>1|{created, Unix ms}|{absolute expiry, Unix ms}|{device}</c>. The leading <c>1</c> is this layout's version; a
/// value of another layout reads as no details (the session is still listed, with what its index knows).
/// </summary>
internal sealed record SessionDetails(DateTimeOffset CreatedAt, DateTimeOffset AbsoluteExpiresAt, string? Device)
{
    public static string Format(UserSession session) => string.Create(
        CultureInfo.InvariantCulture,
        $"1|{session.CreatedAt.ToUnixTimeMilliseconds()}|{session.AbsoluteExpiresAt.ToUnixTimeMilliseconds()}|{session.Device}");

    public static SessionDetails? Parse(string? value)
    {
        var parts = value?.Split('|', 4);
        if (parts is not ["1", var created, var absolute, var device]
            || !long.TryParse(created, NumberStyles.None, CultureInfo.InvariantCulture, out var createdMs)
            || !long.TryParse(absolute, NumberStyles.None, CultureInfo.InvariantCulture, out var absoluteMs))
        {
            return null;
        }

        try
        {
            return new SessionDetails(
                DateTimeOffset.FromUnixTimeMilliseconds(createdMs),
                DateTimeOffset.FromUnixTimeMilliseconds(absoluteMs),
                device.Length == 0 ? null : device);
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
