using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Omnivec.Server;

/// <summary>
/// The <c>content_url</c> of an item. Without API keys it is the plain route. With keys, <c>&lt;video&gt;</c> and
/// <c>&lt;audio&gt;</c> cannot send the Authorization header, so the URL handed to a client that authenticated carries
/// its own short-lived proof: <c>?exp=&lt;unix seconds&gt;&amp;sig=&lt;HMAC-SHA256 over collection, item id and exp&gt;</c>
/// with a per-server secret (<see cref="OmnivecServerOptions.ContentUrlSecret"/>, else random at start). Such a URL
/// opens that one item's content until it expires, and nothing else.
/// </summary>
internal sealed class ContentUrls
{
    private readonly byte[]? _secret;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;

    public ContentUrls(OmnivecServerOptions options, bool signed, TimeProvider? time = null)
    {
        _lifetime = options.ContentUrlLifetime;
        _time = time ?? TimeProvider.System;
        if (signed)
        {
            _secret = options.ContentUrlSecret is { Length: > 0 } shared
                ? SHA256.HashData(Encoding.UTF8.GetBytes(shared))
                : RandomNumberGenerator.GetBytes(32);
        }
    }

    /// <summary>Whether URLs are signed (the server has API keys).</summary>
    public bool Signed => _secret is not null;

    /// <summary>The content URL of an item, signed when the server needs a key.</summary>
    public string For(string collection, long id)
    {
        string url = "/v1/collections/" + Uri.EscapeDataString(collection) + "/items/" + id.ToString(CultureInfo.InvariantCulture) + "/content";
        if (_secret is null)
        {
            return url;
        }

        long expires = _time.GetUtcNow().Add(_lifetime).ToUnixTimeSeconds();
        return url + "?exp=" + expires.ToString(CultureInfo.InvariantCulture) + "&sig=" + Sign(collection, id, expires);
    }

    /// <summary>
    /// Whether the request is a GET/HEAD of an item's content carrying a valid, unexpired signature for that item.
    /// </summary>
    public bool Allows(HttpRequest request)
    {
        if (_secret is null || !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            return false;
        }

        // /v1/collections/{name}/items/{id}/content
        string[] parts = (request.Path.Value ?? "").Split('/');
        if (parts.Length != 7 || parts[0].Length != 0 || parts[1] != "v1" || parts[2] != "collections" || parts[4] != "items" || parts[6] != "content"
            || !long.TryParse(parts[5], NumberStyles.None, CultureInfo.InvariantCulture, out long id))
        {
            return false;
        }

        string collection = parts[3]; // already unescaped by the server; collection names are plain ASCII
        if (!long.TryParse(request.Query["exp"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out long expires)
            || expires < _time.GetUtcNow().ToUnixTimeSeconds())
        {
            return false;
        }

        byte[] expected = Encoding.ASCII.GetBytes(Sign(collection, id, expires));
        byte[] given = Encoding.ASCII.GetBytes(request.Query["sig"].ToString());
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private string Sign(string collection, long id, long expires)
    {
        byte[] mac = HMACSHA256.HashData(_secret!, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"content\n{collection}\n{id}\n{expires}")));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
