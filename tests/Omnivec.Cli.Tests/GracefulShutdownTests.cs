using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Omnivec.Cli.Tests;

/// <summary>
/// <c>omnivec serve</c> as a process: SIGTERM in the middle of a request lets the request finish (its answer arrives),
/// then the process exits with 0 and leaves no child process behind.
/// </summary>
public sealed class GracefulShutdownTests : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);
    private readonly string _store = Directory.CreateTempSubdirectory("omnivec-shutdown-").FullName;

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Process ids whose parent is <paramref name="pid"/> (from /proc).</summary>
    private static int[] Children(int pid)
    {
        var children = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int candidate))
            {
                continue;
            }

            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
                string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(rest[1]) == pid)
                {
                    children.Add(candidate);
                }
            }
            catch (IOException)
            {
                // gone meanwhile
            }
        }

        return children.ToArray();
    }

    /// <summary>A multipart upload whose second half waits for <see cref="Release"/>: a request that is in flight for as long as the test wants.</summary>
    private sealed class GatedUpload(byte[] head, byte[] tail) : HttpContent
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource HeadSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(head);
            await stream.FlushAsync();
            HeadSent.TrySetResult();
            await _release.Task;
            await stream.WriteAsync(tail);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = head.Length + tail.Length;
            return true;
        }
    }

    [Fact]
    public async Task Sigterm_finishes_the_request_in_flight_then_exits_0_without_children()
    {
        int port = FreePort();
        string url = $"http://127.0.0.1:{port}";
        ProcessStartInfo info = CliRunner.StartInfo(["serve", "--model", CliRunner.ModelHf, "--store", _store, "--urls", url]);
        using var server = Process.Start(info)!;
        server.StandardInput.Close();
        var stdout = new StringBuilder();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.OutputDataReceived += (_, e) =>
        {
            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }

            if (e.Data?.Contains("Shutting down", StringComparison.Ordinal) == true)
            {
                stopping.TrySetResult();
            }
        };
        server.BeginOutputReadLine();
        Task<string> stderr = server.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = HangGuard };
            await CliRunner.WaitUntilReadyAsync(server, http, stderr, HangGuard);

            // The upload's body: the file part is cut in two, the second half held back until the shutdown has begun.
            const string Boundary = "omnivec-shutdown-test";
            byte[] photo = File.ReadAllBytes(CliRunner.Photo("cat_chelsea.png"));
            byte[] head = [.. Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cat.png\"\r\nContent-Type: application/octet-stream\r\n\r\n"), .. photo.AsSpan(0, photo.Length / 2)];
            byte[] tail = [.. photo.AsSpan(photo.Length / 2), .. Encoding.ASCII.GetBytes($"\r\n--{Boundary}--\r\n")];
            using var body = new GatedUpload(head, tail);
            body.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={Boundary}");
            Task<HttpResponseMessage> upload = http.PostAsync("/v1/collections/photos/items", body);
            await body.HeadSent.Task.WaitAsync(HangGuard);
            await Task.Delay(200); // let the server read the headers and start on the request

            // Every child the server has from now until it exits (FFmpeg would be one), to check none outlives it.
            var seen = new HashSet<int>();
            Task watch = Task.Run(async () =>
            {
                while (!server.HasExited)
                {
                    foreach (int child in Children(server.Id))
                    {
                        lock (seen)
                        {
                            seen.Add(child);
                        }
                    }

                    await Task.Delay(20);
                }
            });

            using (var kill = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", $"kill -TERM {server.Id}" } })!)
            {
                await kill.WaitForExitAsync();
                Assert.Equal(0, kill.ExitCode);
            }

            await stopping.Task.WaitAsync(HangGuard);
            // Held past System.CommandLine's 2 s grace for cancelled commands: the web host, not a timer, decides when it ends.
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(server.HasExited, "the server exited with a request in flight");
            body.Release();

            HttpResponseMessage answer = await upload.WaitAsync(HangGuard);
            string json = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.Created, $"{answer.StatusCode}: {json}");
            Assert.Equal("cat.png", JsonDocument.Parse(json).RootElement.GetProperty("items")[0].GetProperty("name").GetString());

            using var exit = new CancellationTokenSource(HangGuard);
            await server.WaitForExitAsync(exit.Token);
            Assert.True(server.ExitCode == 0, $"exit code {server.ExitCode}; stderr: {await stderr}");
            await watch;
            lock (seen)
            {
                Assert.DoesNotContain(seen, pid => Directory.Exists($"/proc/{pid}"));
            }

            lock (stdout)
            {
                Assert.Contains("Stopped", stdout.ToString(), StringComparison.Ordinal);
            }

            // What it committed during the shutdown is there for the next run.
            CliResult list = await CliRunner.RunAsync("collections", "--store", _store);
            Assert.Equal(0, list.ExitCode);
            Assert.Contains("photos", list.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
        }
    }
}
