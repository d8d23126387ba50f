using Google.Apis.Auth.OAuth2;

namespace Omnivec.Providers.Google;

/// <summary>Supplies the bearer token for each request.</summary>
internal abstract class GoogleAccessTokenSource
{
    internal const string CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

    public abstract string Kind { get; }

    /// <summary>The last token handed out, so it can be scrubbed from any text that leaves the provider.</summary>
    public abstract string? CurrentToken { get; }

    public abstract Task<string> GetTokenAsync(CancellationToken cancellationToken);

    public static GoogleAccessTokenSource Create(string? accessToken, string? credentialsFile, Func<string, string?> getVariable)
    {
        if (!string.IsNullOrWhiteSpace(accessToken))
        {
            return new Static(accessToken.Trim(), "access token");
        }

        string? fromEnv = getVariable("GOOGLE_OAUTH_ACCESS_TOKEN");
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            return new Static(fromEnv.Trim(), "GOOGLE_OAUTH_ACCESS_TOKEN");
        }

        return string.IsNullOrWhiteSpace(credentialsFile)
            ? new Credential("application default credentials", async ct =>
                await GoogleCredential.GetApplicationDefaultAsync(ct).ConfigureAwait(false))
            : new Credential("service-account key file", async ct =>
                (await CredentialFactory.FromFileAsync<ServiceAccountCredential>(credentialsFile, ct).ConfigureAwait(false)).ToGoogleCredential());
    }

    private sealed class Static(string token, string kind) : GoogleAccessTokenSource
    {
        public override string Kind => kind;
        public override string? CurrentToken => token;
        public override Task<string> GetTokenAsync(CancellationToken cancellationToken) => Task.FromResult(token);
    }

    private sealed class Credential(string kind, Func<CancellationToken, Task<GoogleCredential>> load) : GoogleAccessTokenSource
    {
        private readonly Lock _gate = new();
        private Task<ITokenAccess>? _load;
        private volatile string? _current;

        public override string Kind => kind;
        public override string? CurrentToken => _current;

        public override async Task<string> GetTokenAsync(CancellationToken cancellationToken)
        {
            try
            {
                ITokenAccess access = await LoadAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                // The credential caches the token and refreshes it shortly before it expires.
                string token = await access.GetAccessTokenForRequestAsync(null, cancellationToken).ConfigureAwait(false);
                _current = token;
                return token;
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not HttpRequestException and not EmbeddingServiceException)
            {
                throw new EmbeddingServiceException("google", null, "AuthenticationFailed",
                    $"could not get an access token from {kind}: {ex.Message} Set VertexAIOptions.AccessToken, GOOGLE_OAUTH_ACCESS_TOKEN, " +
                    "a service-account key file, or run 'gcloud auth application-default login'.", ex);
            }
        }

        // Loaded once and shared; a failed load is tried again by the next request.
        private Task<ITokenAccess> LoadAsync()
        {
            lock (_gate)
            {
                if (_load is null || _load.IsFaulted || _load.IsCanceled)
                {
                    _load = LoadCoreAsync();
                }

                return _load;
            }
        }

        private async Task<ITokenAccess> LoadCoreAsync()
        {
            GoogleCredential credential = await load(CancellationToken.None).ConfigureAwait(false);
            return credential.CreateScoped(CloudPlatformScope);
        }
    }
}
