using Microsoft.Playwright;

namespace Bff.Tests.Browser;

/// <summary>
/// The session event streams (<c>GET /bff/events</c>) the pages of one browser context ask for, and which of them are
/// open (answered, neither finished nor failed, the page not closed): what the gateway holds a connection for.
/// </summary>
internal sealed class EventStreamWatch
{
    private readonly Lock _gate = new();
    private readonly List<IPage> _asked = [];
    private readonly Dictionary<IRequest, IPage> _open = [];
    private int _answered;
    private readonly List<(Func<bool> Condition, TaskCompletionSource Done)> _waiting = [];

    public EventStreamWatch(IBrowserContext context)
    {
        context.Request += (_, request) => Change(request, request.Frame.Page, opened: null);
        context.Response += (_, response) => Change(response.Request, response.Request.Frame.Page, opened: response.Status == 200);
        context.RequestFinished += (_, request) => Change(request, page: null, opened: false);
        context.RequestFailed += (_, request) => Change(request, page: null, opened: false);
        context.Close += (_, _) => Notify();
    }

    /// <summary>The pages that asked for a stream, in the order they first did.</summary>
    public IReadOnlyList<IPage> PagesThatAsked()
    {
        lock (_gate)
        {
            return [.. _asked];
        }
    }

    /// <summary>How many times the gateway has answered a stream (200) so far.</summary>
    public int Answered
    {
        get
        {
            lock (_gate)
            {
                return _answered;
            }
        }
    }

    /// <summary>The page of each open stream.</summary>
    public IReadOnlyList<IPage> Open()
    {
        lock (_gate)
        {
            return [.. _open.Values.Where(page => !page.IsClosed)];
        }
    }

    /// <summary>Waits (up to 20 s, then fails) until the condition holds; it is tested again after every change.</summary>
    public async Task WaitUntilAsync(Func<bool> condition)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiting.Add((condition, done));
        }

        Notify();
        await done.Task.WaitAsync(TimeSpan.FromSeconds(20));
    }

    private static bool IsStream(IRequest request) =>
        Uri.TryCreate(request.Url, UriKind.Absolute, out var url) && url.AbsolutePath == "/bff/events";

    private void Change(IRequest request, IPage? page, bool? opened)
    {
        if (!IsStream(request))
        {
            return;
        }

        lock (_gate)
        {
            if (opened is null && page is not null && !_asked.Contains(page))
            {
                _asked.Add(page);
                page.Close += (_, _) => Notify();
            }
            else if (opened == true && page is not null)
            {
                _open[request] = page;
                _answered++;
            }
            else if (opened == false)
            {
                _open.Remove(request);
            }
        }

        Notify();
    }

    private void Notify()
    {
        (Func<bool> Condition, TaskCompletionSource Done)[] waiting;
        lock (_gate)
        {
            waiting = [.. _waiting];
        }

        foreach (var waiter in waiting.Where(w => w.Condition()))
        {
            lock (_gate)
            {
                _waiting.Remove(waiter);
            }

            waiter.Done.TrySetResult();
        }
    }
}
