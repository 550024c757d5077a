package dev.captionfn.fetch;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * A URL the fetcher may ask for: http or https, with a host and without credentials. The same
 * rules apply to the request's imageUrl and to every redirect. A URL that breaks them is a
 * {@link FetchException}: {@link FetchError#INVALID_URL} when it is malformed,
 * {@link FetchError#NOT_ALLOWED} when it is well formed but not fetched (scheme, credentials).
 *
 * <p>java.net.URI splits the URL, but the host is read by the WHATWG host parser
 * ({@link UrlHost}), as a browser reads it: URI would call {@code 127.1} or {@code bücher.example}
 * no host at all and pass {@code 0x7f000001} to DNS as a name.
 *
 * @param spelledHost the host as written in the URL, for messages
 * @param host the host as parsed: what is resolved or connected to, and sent as the Host header
 * @param target the path and query sent in the request line
 */
public record FetchUrl(URI uri, String spelledHost, UrlHost host, int port, boolean tls, String target) {

    /** Parses a request's imageUrl; the messages name it as the request's field. */
    public static FetchUrl parse(String text) {
        if (text == null || text.isBlank()) {
            throw new FetchException(FetchError.INVALID_URL, "imageUrl is required");
        }
        try {
            return of(new URI(text.strip()));
        } catch (URISyntaxException e) {
            throw new FetchException(FetchError.INVALID_URL, "imageUrl is not a valid URL: " + e.getMessage());
        }
    }

    public static FetchUrl of(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new FetchException(FetchError.NOT_ALLOWED,
                    "only http and https URLs are fetched, not '" + (scheme.isEmpty() ? uri : scheme + ":") + "'");
        }
        // the raw authority, not getHost(): URI has no host for anything outside RFC 3986's host grammar
        String authority = uri.getRawAuthority();
        if (authority == null || authority.isEmpty()) {
            throw noHost(uri);
        }
        if (authority.contains("@")) {
            // credentials in a URL end up in logs and error messages; presigned URLs carry them in the query
            throw new FetchException(FetchError.NOT_ALLOWED, "URLs with a user name or password are not fetched");
        }
        String spelled = authority;
        String portText = "";
        if (authority.startsWith("[")) {
            // the whole authority when unclosed, so that the host parser says what is missing
            int close = authority.indexOf(']') < 0 ? authority.length() - 1 : authority.indexOf(']');
            spelled = authority.substring(0, close + 1);
            String rest = authority.substring(close + 1);
            if (!rest.isEmpty() && !rest.startsWith(":")) {
                throw invalidHost(uri, authority, "'" + rest + "' follows the IPv6 address");
            }
            portText = rest.isEmpty() ? "" : rest.substring(1);
        } else if (authority.indexOf(':') >= 0) {
            spelled = authority.substring(0, authority.indexOf(':'));
            portText = authority.substring(authority.indexOf(':') + 1);
        }
        if (spelled.isEmpty()) {
            throw noHost(uri);
        }
        UrlHost host;
        try {
            host = UrlHost.parse(spelled);
        } catch (IllegalArgumentException e) {
            throw invalidHost(uri, spelled, e.getMessage());
        }
        boolean tls = scheme.equals("https");
        int port = portText.isEmpty() ? tls ? 443 : 80 : port(uri, portText);
        // URI leaves non-ASCII in the path raw; a browser sends it as UTF-8 percent escapes
        URI ascii = URI.create(uri.toASCIIString());
        String path = ascii.getRawPath() == null || ascii.getRawPath().isEmpty() ? "/" : ascii.getRawPath();
        String target = ascii.getRawQuery() == null ? path : path + "?" + ascii.getRawQuery();
        return new FetchUrl(uri, spelled, host, port, tls, target);
    }

    /** The WHATWG port: ASCII digits, up to 65535, leading zeros allowed. */
    private static int port(URI uri, String text) {
        if (!text.chars().allMatch(c -> c >= '0' && c <= '9') || text.replaceFirst("^0+(?=.)", "").length() > 5
                || Integer.parseInt(text) > 65535) {
            throw new FetchException(FetchError.INVALID_URL, "the port '" + text + "' of " + uri + " is not a number from 0 to 65535");
        }
        return Integer.parseInt(text);
    }

    private static FetchException noHost(URI uri) {
        return new FetchException(FetchError.INVALID_URL, "the URL has no host: " + uri);
    }

    private static FetchException invalidHost(URI uri, String host, String why) {
        return new FetchException(FetchError.INVALID_URL, "the host '" + host + "' of " + uri
                + " is not a host name or address as browsers read them: " + why);
    }

    /** The name to resolve (ASCII) or the address (without brackets): what a connection is labelled with. */
    public String hostName() {
        return host instanceof UrlHost.Address a ? a.text() : host.serialized();
    }

    @Override
    public String toString() {
        return uri.toString();
    }
}
