using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Omnivec.Server;

/// <summary>
/// Fetches images named by URL without becoming a proxy into the server's network (SSRF): only http/https, only allow-listed
/// hosts, every resolved address checked against loopback, private, link-local, multicast, CGNAT and metadata ranges,
/// the connection made to the address that was checked (so DNS cannot change its answer in between), redirects followed
/// by hand and re-checked, with a byte cap and a time cap.
/// </summary>
internal sealed class ImageUrlFetcher : IDisposable
{
    private const int MaxRedirects = 3;
    private readonly OmnivecServerOptions _options;
    private readonly HttpClient _client;

    public ImageUrlFetcher(OmnivecServerOptions options)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.ImageUrlTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = (context, token) => ConnectAsync(context, token),
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("omnivec", "1.0"));
    }

    /// <summary>Decides which addresses are refused; tests swap it to let a loopback stand-in for a public host through.</summary>
    internal Func<IPAddress, string?> AddressCheck { get; set; } = AddressPolicy.Blocked;

    /// <summary>Downloads the image at <paramref name="url"/>; every refusal is an <see cref="ApiException"/> naming the reason.</summary>
    public async Task<byte[]> FetchAsync(string url, string label, long requestBytesLeft, CancellationToken cancellationToken)
    {
        long cap = Math.Min(_options.MaxImageUrlBytes, requestBytesLeft);
        if (!_options.AllowImageUrls)
        {
            throw ApiException.BadRequest($"{label}: image URLs are disabled on this server; send the image as base64 or a data: URL.");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            throw ApiException.BadRequest($"{label}: '{Shorten(url)}' is not a valid URL.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ImageUrlTimeout);
        try
        {
            for (int hop = 0; ; hop++)
            {
                await CheckAsync(uri, label, timeout.Token).ConfigureAwait(false);
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                using HttpResponseMessage response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                int status = (int)response.StatusCode;
                if (status is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    if (hop >= MaxRedirects)
                    {
                        throw ApiException.BadRequest($"{label}: more than {MaxRedirects} redirects fetching {Shorten(url)}.");
                    }

                    uri = new Uri(uri, location);
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw ApiException.BadRequest($"{label}: fetching {Shorten(uri.ToString())} returned HTTP {status}.");
                }

                if (response.Content.Headers.ContentLength > cap)
                {
                    throw TooLarge(label, cap);
                }

                return await ReadCappedAsync(response.Content, label, cap, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw ApiException.BadRequest($"{label}: fetching {Shorten(url)} took longer than {_options.ImageUrlTimeout.TotalSeconds:0.#} s.");
        }
        catch (HttpRequestException e) when (e.InnerException is ApiException api)
        {
            throw api;
        }
        catch (HttpRequestException e)
        {
            throw ApiException.BadRequest($"{label}: fetching {Shorten(url)} failed: {e.Message}");
        }
    }

    private async Task<byte[]> ReadCappedAsync(HttpContent content, string label, long cap, CancellationToken cancellationToken)
    {
        Stream stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            // Sized from Content-Length when it is given (already checked against the cap): one buffer, no doubling copies.
            long declared = content.Headers.ContentLength ?? 0;
            using var buffer = new MemoryStream((int)Math.Min(declared, cap));
            byte[] chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > cap)
                {
                    throw TooLarge(label, cap);
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
        }
    }

    private ApiException TooLarge(string label, long cap) => cap < _options.MaxImageUrlBytes
        ? ApiException.TooLarge($"{label}: the images fetched for this request would exceed its limit of {_options.MaxRequestBytes:N0} bytes (MaxRequestBytes).")
        : ApiException.TooLarge($"{label}: the image at the URL is larger than the limit of {_options.MaxImageUrlBytes:N0} bytes.");

    /// <summary>Scheme, allow-list and (for literal addresses) the address rules; names are checked again when connecting.</summary>
    private async Task CheckAsync(Uri uri, string label, CancellationToken cancellationToken)
    {
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw ApiException.BadRequest($"{label}: only http and https image URLs are allowed, not '{uri.Scheme}'.");
        }

        string host = uri.IdnHost.TrimStart('[').TrimEnd(']');
        if (!IsAllowListed(host))
        {
            throw ApiException.BadRequest($"{label}: the host '{host}' is not in this server's image URL allow-list.");
        }

        _ = await ResolveCheckedAsync(host, label, cancellationToken).ConfigureAwait(false);
    }

    internal bool IsAllowListed(string host)
    {
        foreach (string pattern in _options.ImageUrlAllowList)
        {
            string p = pattern.Trim().TrimStart('[').TrimEnd(']');
            if (p.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(p[1..], StringComparison.OrdinalIgnoreCase) && host.Length > p.Length - 1
                : string.Equals(host, p, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>All addresses of <paramref name="host"/>, refused as a whole if any of them is internal.</summary>
    private async Task<IPAddress[]> ResolveCheckedAsync(string host, string label, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out IPAddress? literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw ApiException.BadRequest($"{label}: the host '{host}' could not be resolved: {e.Message}");
            }
        }

        if (addresses.Length == 0)
        {
            throw ApiException.BadRequest($"{label}: the host '{host}' has no addresses.");
        }

        foreach (IPAddress address in addresses)
        {
            if (AddressCheck(address) is { } reason)
            {
                throw ApiException.BadRequest($"{label}: refused to fetch from {host}: {address} is {reason}.");
            }
        }

        return addresses;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        // Resolve and check here too: the socket connects to exactly the address that passed the check.
        IPAddress[] addresses = await ResolveCheckedAsync(context.DnsEndPoint.Host, "image URL", cancellationToken).ConfigureAwait(false);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static string Shorten(string url) => url.Length <= 200 ? url : url[..200] + "…";

    public void Dispose() => _client.Dispose();
}

/// <summary>Addresses an outgoing fetch must never reach.</summary>
internal static class AddressPolicy
{
    /// <summary>Why <paramref name="address"/> is refused, or null when it is a public unicast address.</summary>
    public static string? Blocked(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return b[0] switch
            {
                0 => "in 0.0.0.0/8 (this network)",
                10 => "a private address (10.0.0.0/8)",
                127 => "a loopback address",
                100 when b[1] is >= 64 and <= 127 => "a shared/CGNAT address (100.64.0.0/10)",
                169 when b[1] == 254 => "a link-local or cloud metadata address (169.254.0.0/16)",
                172 when b[1] is >= 16 and <= 31 => "a private address (172.16.0.0/12)",
                192 when b[1] == 168 => "a private address (192.168.0.0/16)",
                192 when b[1] == 0 && b[2] is 0 or 2 => "a reserved address (192.0.0.0/24, 192.0.2.0/24)",
                198 when b[1] is 18 or 19 => "a benchmarking address (198.18.0.0/15)",
                198 when b[1] == 51 && b[2] == 100 => "a documentation address",
                203 when b[1] == 0 && b[2] == 113 => "a documentation address",
                >= 224 and <= 239 => "a multicast address",
                >= 240 => "a reserved or broadcast address",
                _ => null,
            };
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.Equals(IPAddress.IPv6Loopback))
            {
                return "a loopback address";
            }

            if (address.Equals(IPAddress.IPv6Any))
            {
                return "the unspecified address";
            }

            Span<byte> b = stackalloc byte[16];
            address.TryWriteBytes(b, out _);
            if ((b[0] & 0xFE) == 0xFC)
            {
                return "a unique-local (private) address (fc00::/7)";
            }

            if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80)
            {
                return "a link-local address (fe80::/10)";
            }

            if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0)
            {
                return "a site-local address (fec0::/10)";
            }

            if (b[0] == 0xFF)
            {
                return "a multicast address";
            }

            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8)
            {
                return "a documentation address (2001:db8::/32)";
            }

            // NAT64 (64:ff9b::/96, 64:ff9b:1::/48), IPv4-compatible (::/96) and IPv4-translated (::ffff:0:0/96) forms
            // carry an IPv4 address that must pass the IPv4 rules.
            bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && (b[4..12].IndexOfAnyExcept((byte)0) < 0 || (b[4] == 0 && b[5] == 1));
            bool compatible = b[..12].IndexOfAnyExcept((byte)0) < 0;
            bool translated = b[..8].IndexOfAnyExcept((byte)0) < 0 && b[8] == 0xFF && b[9] == 0xFF && b[10] == 0 && b[11] == 0;
            if (nat64 || compatible || translated)
            {
                return Blocked(new IPAddress(b[12..]));
            }

            // 6to4 (2002::/16) carries an IPv4 address in bits 16-47.
            if (b[0] == 0x20 && b[1] == 0x02)
            {
                return Blocked(new IPAddress(b[2..6])) is { } inner ? "a 6to4 address around " + inner : null;
            }

            // Teredo (2001:0::/32) carries the server's IPv4 address and the client's, inverted; both must pass.
            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
            {
                Span<byte> client = stackalloc byte[4];
                for (int i = 0; i < 4; i++)
                {
                    client[i] = (byte)~b[12 + i];
                }

                return (Blocked(new IPAddress(b[4..8])) ?? Blocked(new IPAddress(client))) is { } inner ? "a Teredo address around " + inner : null;
            }

            return null;
        }

        return "not an IP address";
    }
}
