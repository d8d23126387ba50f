using System.Runtime.InteropServices;

namespace Omnivec.Bench;

/// <summary>
/// Pins the calling thread to one CPU while single queries are timed, and gives it back all the CPUs it had after.
/// On this benchmark's two-vCPU VM the first CPU takes the disk, network and balloon interrupts: the same 1,000 HNSW
/// queries at 1M ran at 1,030–1,410/s there against 1,370–1,535/s on the second, alternating in one process (and once
/// at 620/s), and the scheduler moves a single-threaded loop between them at will. bench/py/search_py.py pins its
/// contenders' single queries to the same CPU (<c>--query-cpu</c>, which bench/run.sh sets to the last one), so every
/// single-query figure is taken on the same core. Linux only; elsewhere (or with a negative CPU) nothing is pinned.
/// </summary>
internal sealed class QueryCpu : IDisposable
{
    private readonly ulong _previous;
    private readonly bool _pinned;

    private QueryCpu(int cpu)
    {
        if (cpu < 0 || cpu >= 64 || !OperatingSystem.IsLinux())
        {
            return;
        }

        ulong previous = 0;
        if (GetAffinity(0, sizeof(ulong), ref previous) != 0 || (previous & (1UL << cpu)) == 0)
        {
            Console.Error.WriteLine($"  CPU {cpu} is not one this process may run on: single queries are not pinned");
            return;
        }

        ulong mask = 1UL << cpu;
        if (SetAffinity(0, sizeof(ulong), ref mask) == 0)
        {
            _previous = previous;
            _pinned = true;
        }
    }

    /// <summary>Pins the calling thread to <paramref name="cpu"/> until disposed (a negative CPU: no pinning).</summary>
    public static QueryCpu Pin(int cpu) => new(cpu);

    public void Dispose()
    {
        if (_pinned)
        {
            ulong mask = _previous;
            _ = SetAffinity(0, sizeof(ulong), ref mask);
        }
    }

    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SetAffinity(int tid, nint size, ref ulong mask);

    [DllImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static extern int GetAffinity(int tid, nint size, ref ulong mask);
}
