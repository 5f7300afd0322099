using System;
using System.Globalization;
using Spectre.Console;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>Tensors and bytes done so far, from whichever library progress type the work reports.</summary>
internal delegate void ProgressUpdate(int tensorsDone, int tensorCount, long bytesDone, long bytesTotal);

/// <summary>
/// A training phase's position: its name, the epoch (from 0) of how many, the step (from 1) of the steps per
/// epoch, and the last step's loss; <paramref name="stepsPerEpoch"/> 0 for a phase without steps (a selection).
/// </summary>
internal delegate void StepUpdate(string phase, int epoch, int epochs, int step, int stepsPerEpoch, double loss);

/// <summary>
/// Progress of long work: a Spectre progress bar (tensors and bytes) on a terminal, otherwise (redirected output,
/// <c>--json</c>) nothing: logs hold results, not progress.
/// </summary>
internal static class ProgressDisplay
{
    public static void Run(CliConsole console, string title, bool quiet, Action<ProgressUpdate> work)
    {
        // Off a terminal (a log, a pipe, CI) progress lines are noise around the result: the work runs silently.
        if (quiet || !console.IsTerminal)
        {
            work(static (_, _, _, _) => { });
            return;
        }

        RunBar(console, title, work);
    }

    /// <summary>
    /// Progress of training: a Spectre bar per phase (steps of all epochs, with the loss) on a terminal, otherwise
    /// one line per finished epoch and per step-less phase, and nothing for <c>--json</c>.
    /// </summary>
    public static void RunSteps(CliConsole console, string title, bool quiet, Action<StepUpdate> work)
    {
        if (quiet)
        {
            work(static (_, _, _, _, _, _) => { });
            return;
        }

        if (!console.IsTerminal)
        {
            work((phase, epoch, epochs, step, steps, loss) =>
            {
                if (steps == 0)
                {
                    console.Out.WriteLine($"{title}: {phase}");
                }
                else if (step == steps)
                {
                    console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{title}: {phase} epoch {epoch + 1}/{epochs}, {steps} steps, last loss {loss:G6}"));
                }
            });
            return;
        }

        console.Ansi.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                ProgressTask? task = null;
                string? current = null;
                work((phase, epoch, epochs, step, steps, loss) =>
                {
                    if (phase != current)
                    {
                        task?.StopTask();
                        current = phase;
                        task = context.AddTask(Markup.Escape($"{title} {phase}"), maxValue: Math.Max((double)epochs * steps, 1));
                    }

                    task!.Value = steps == 0 ? task.MaxValue : ((double)epoch * steps) + step;
                    task.Description = Markup.Escape(steps == 0
                        ? $"{title} {phase}"
                        : string.Create(CultureInfo.InvariantCulture, $"{title} {phase} epoch {epoch + 1}/{epochs} loss {loss:G4}"));
                });
                if (task is not null)
                {
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            });
    }

    private static void RunBar(CliConsole console, string title, Action<ProgressUpdate> work)
    {
        console.Ansi.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new RemainingTimeColumn(),
                new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: 1);
                work((done, count, bytes, total) =>
                {
                    task.MaxValue = Math.Max(total, 1);
                    task.Value = total > 0 ? bytes : done >= count ? 1 : 0;
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{title} {done}/{count} tensors"));
                });
                task.Value = task.MaxValue;
                task.StopTask();
            });
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (Progress&lt;T&gt; would post to a pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
