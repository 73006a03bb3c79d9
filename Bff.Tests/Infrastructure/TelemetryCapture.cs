using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// Everything the gateway's OpenTelemetry pipeline exports, caught by in-memory exporters added after the gateway's
/// own configuration (so they see exactly what an OTLP exporter would): spans, metric snapshots and log records
/// (rendered to text when exported, since the SDK recycles log records).
/// Metrics are exported when the host stops, or on <see cref="FlushMetrics"/>.
/// ActivitySource listeners are process-wide: tests using this belong to <see cref="TelemetryTestGroup"/>.
/// </summary>
public sealed class TelemetryCapture
{
    private readonly List<Activity> _spans = [];
    private readonly List<MetricSnapshot> _metrics = [];
    private readonly ConcurrentQueue<string> _logs = new();

    public IReadOnlyList<Activity> Spans
    {
        get
        {
            lock (_spans)
            {
                return [.. _spans];
            }
        }
    }

    public IReadOnlyList<MetricSnapshot> Metrics
    {
        get
        {
            lock (_metrics)
            {
                return [.. _metrics];
            }
        }
    }

    public IReadOnlyCollection<string> Logs => _logs.ToArray();

    /// <summary>
    /// The gateway records spans (and subscribes the ASP.NET Core and HttpClient instrumentation) only when something
    /// reads them: an OTLP endpoint, or <c>OTEL_TRACES_SAMPLER</c> set, as someone adding an exporter in code does. A
    /// host using this capture needs these settings as well as <see cref="Register"/>.
    /// </summary>
    public static Dictionary<string, string?> Settings(IEnumerable<KeyValuePair<string, string?>>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["OTEL_TRACES_SAMPLER"] = "always_on" };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    public void Register(IServiceCollection services)
    {
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(
            new SimpleActivityExportProcessor(new DelegatingExporter<Activity>(batch =>
            {
                lock (_spans)
                {
                    foreach (var activity in batch)
                    {
                        _spans.Add(activity);
                    }
                }
            }))));
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddReader(
            new BaseExportingMetricReader(new DelegatingExporter<Metric>(batch =>
            {
                lock (_metrics)
                {
                    foreach (var metric in batch)
                    {
                        _metrics.Add(new MetricSnapshot(metric));
                    }
                }
            }))));
        services.ConfigureOpenTelemetryLoggerProvider(logging => logging.AddProcessor(
            new SimpleLogRecordExportProcessor(new DelegatingExporter<LogRecord>(batch =>
            {
                foreach (var record in batch)
                {
                    _logs.Enqueue(Render(record));
                }
            }))));
    }

    public static void FlushMetrics(IServiceProvider services) =>
        services.GetRequiredService<MeterProvider>().ForceFlush();

    /// <summary>Every exported span rendered as text: names, attributes, status, events and their attributes, links, baggage.</summary>
    public string SpansText()
    {
        var text = new StringBuilder();
        foreach (var span in Spans)
        {
            text.Append(span.Source.Name).Append(' ').Append(span.OperationName).Append(' ').Append(span.DisplayName)
                .Append(' ').Append(span.Status).Append(' ').Append(span.StatusDescription).Append(' ').Append(span.TraceStateString);
            foreach (var (key, value) in span.TagObjects)
            {
                text.Append(' ').Append(key).Append('=').Append(CapturingLoggerProvider.Render(value));
            }

            foreach (var activityEvent in span.Events)
            {
                text.Append(" event:").Append(activityEvent.Name);
                foreach (var (key, value) in activityEvent.Tags)
                {
                    text.Append(' ').Append(key).Append('=').Append(value);
                }
            }

            foreach (var link in span.Links)
            {
                text.Append(" link:").Append(link.Context.TraceId);
            }

            foreach (var (key, value) in span.Baggage)
            {
                text.Append(" baggage:").Append(key).Append('=').Append(value);
            }

            text.AppendLine();
        }

        return text.ToString();
    }

    /// <summary>Every exported metric rendered as text: names, descriptions, units and every point's attributes.</summary>
    public string MetricsText()
    {
        var text = new StringBuilder();
        foreach (var metric in Metrics)
        {
            text.Append(metric.MeterName).Append(' ').Append(metric.Name).Append(' ').Append(metric.Description).Append(' ').Append(metric.Unit);
            foreach (var point in metric.MetricPoints)
            {
                foreach (var tag in point.Tags)
                {
                    text.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
                }
            }

            text.AppendLine();
        }

        return text.ToString();
    }

    public string LogsText() => string.Join('\n', Logs);

    /// <summary>The sum of a counter's points (over all attribute sets) in the last export of it that matches.</summary>
    public long CounterValue(string name, params (string Key, string Value)[] tags)
    {
        var metric = Metrics.LastOrDefault(m => m.Name == name);
        if (metric is null)
        {
            return 0;
        }

        long sum = 0;
        foreach (var point in metric.MetricPoints)
        {
            if (Matches(point, tags))
            {
                sum += metric.MetricType.IsSum() ? point.GetSumLong() : point.GetGaugeLastValueLong();
            }
        }

        return sum;
    }

    /// <summary>How many measurements a histogram recorded with these attributes, in its last export.</summary>
    public long HistogramCount(string name, params (string Key, string Value)[] tags)
    {
        var metric = Metrics.LastOrDefault(m => m.Name == name);
        return metric?.MetricPoints.Where(p => Matches(p, tags)).Sum(p => p.GetHistogramCount()) ?? 0;
    }

    private static bool Matches(MetricPoint point, (string Key, string Value)[] tags)
    {
        foreach (var (key, value) in tags)
        {
            var found = false;
            foreach (var tag in point.Tags)
            {
                if (tag.Key == key && Equals(tag.Value?.ToString(), value))
                {
                    found = true;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    private static string Render(LogRecord record)
    {
        var text = new StringBuilder();
        text.Append(record.LogLevel).Append(' ').Append(record.CategoryName).Append('[').Append(record.EventId.Id).Append(' ').Append(record.EventId.Name).Append("] ")
            .Append(record.FormattedMessage).Append(" body=").Append(record.Body);
        foreach (var (key, value) in record.Attributes ?? [])
        {
            text.Append(' ').Append(key).Append('=').Append(CapturingLoggerProvider.Render(value));
        }

        record.ForEachScope(static (scope, builder) =>
        {
            builder.Append(" scope:").Append(scope.Scope);
            foreach (var (key, value) in scope)
            {
                builder.Append(' ').Append(key).Append('=').Append(CapturingLoggerProvider.Render(value));
            }
        }, text);
        text.Append(' ').Append(record.Exception);
        return text.ToString();
    }

    private sealed class DelegatingExporter<T>(Action<Batch<T>> export) : BaseExporter<T>
        where T : class
    {
        public override ExportResult Export(in Batch<T> batch)
        {
            export(batch);
            return ExportResult.Success;
        }
    }
}

/// <summary>Tests that listen to the process-wide ActivitySources run alone, so they see only their own gateway's spans.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryTestGroup
{
    public const string Name = "Telemetry";
}
