package dev.captionfn.fetch;

import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.ErrorCode;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * A URL the fetcher may ask for: http or https, with a host and without credentials. The same
 * rules apply to the request's imageUrl and to every redirect.
 *
 * @param host the host as written in the URL (an IPv6 literal keeps its brackets)
 * @param target the path and query sent in the request line
 */
public record FetchUrl(URI uri, String host, int port, boolean tls, String target) {

    /** Parses a request's imageUrl. */
    public static FetchUrl parse(String text) {
        if (text == null || text.isBlank()) {
            throw new CaptionException(ErrorCode.INVALID_REQUEST, "imageUrl is required");
        }
        try {
            return of(new URI(text.strip()));
        } catch (URISyntaxException e) {
            throw new CaptionException(ErrorCode.INVALID_REQUEST, "imageUrl is not a valid URL: " + e.getMessage());
        }
    }

    public static FetchUrl of(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new CaptionException(ErrorCode.URL_NOT_ALLOWED,
                    "only http and https URLs are fetched, not '" + (scheme.isEmpty() ? uri : scheme + ":") + "'");
        }
        if (uri.getRawUserInfo() != null) {
            // credentials in a URL end up in logs and error messages; presigned URLs carry them in the query
            throw new CaptionException(ErrorCode.URL_NOT_ALLOWED, "URLs with a user name or password are not fetched");
        }
        String host = uri.getHost();
        if (host == null || host.isBlank()) {
            throw new CaptionException(ErrorCode.INVALID_REQUEST, "the URL has no host: " + uri);
        }
        boolean tls = scheme.equals("https");
        int port = uri.getPort() != -1 ? uri.getPort() : tls ? 443 : 80;
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String target = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
        return new FetchUrl(uri, host.toLowerCase(Locale.ROOT), port, tls, target);
    }

    /** The host to resolve: an IPv6 literal without its brackets. */
    public String hostName() {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    @Override
    public String toString() {
        return uri.toString();
    }
}
