using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// Adds up what a host's counters record, by instrument name and one attribute's value, as a metrics backend would
/// show it. Listens to exactly one <see cref="Meter"/> (the host's own), so parallel tests do not mix.
/// </summary>
public sealed class CounterTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Instrument, string? Value), long> _totals = new();

    public CounterTotals(Meter meter, string attribute)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? tagValue = null;
            foreach (var tag in tags)
            {
                if (tag.Key == attribute)
                {
                    tagValue = tag.Value?.ToString();
                }
            }

            _totals.AddOrUpdate((instrument.Name, tagValue), value, (_, total) => total + value);
        });
        _listener.Start();
    }

    public long this[string instrument, string? attributeValue] =>
        _totals.TryGetValue((instrument, attributeValue), out var total) ? total : 0;

    public void Dispose() => _listener.Dispose();
}
