package dev.captionfn.fetch;

import java.net.UnknownHostException;
import java.net.InetAddress;
import java.util.List;

/** Turns a URL's host into addresses, which the address policy then judges. Blocking. */
public interface HostResolver {
    List<InetAddress> resolve(String host) throws UnknownHostException;
}
