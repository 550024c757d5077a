/**
 * Image bytes from a URL nobody vouches for: {@link dev.captionfn.fetch.FetchUrl} parses the URL
 * once (its host as a browser reads it, {@link dev.captionfn.fetch.UrlHost}),
 * {@link dev.captionfn.fetch.Destinations} turns each hop's host into the one address to connect
 * to, judged by the {@link dev.captionfn.fetch.AddressPolicy}, and
 * {@link dev.captionfn.fetch.ImageFetcher} follows redirects and reads the body within the
 * {@link dev.captionfn.fetch.FetchLimits}.
 *
 * <p>A leaf: it imports nothing else of captionfn. A failure is a
 * {@link dev.captionfn.fetch.FetchException} whose {@link dev.captionfn.fetch.FetchError} says
 * what happened; the caller maps the kinds onto its own error codes. The fetcher needs a Vert.x
 * instance, not Quarkus, so its tests start one of their own.
 */
package dev.captionfn.fetch;
