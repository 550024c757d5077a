package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TestHostResolver;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The production address policy (allow-private-addresses off) end to end. The one exception is
 * an "internal image store" on 127.0.0.2, allowed by network, so that a redirect from an allowed
 * host to a refused one can be shown; no request leaves loopback, and refused addresses are never
 * connected to, which is why a refused 169.254.169.254 is safe to name here.
 */
@QuarkusTest
@TestProfile(StrictAddressPolicyTest.Strict.class)
class StrictAddressPolicyTest {
    public static class Strict implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "captionfn.fetch.allow-private-addresses", "false",
                    "captionfn.fetch.allowed-networks", "127.0.0.2/32");
        }
    }

    private static final String GOOD = "images/tiny-reference/scene-00.png".substring("images/".length());

    private final ImageServer loopback = ImageServer.get();
    private final ImageServer store = ImageServer.on("127.0.0.2");

    private String onLoopbackAs(String host) {
        return "http://" + host + ":" + loopback.port() + "/images/" + GOOD;
    }

    @Test
    void loopbackInEverySpellingIsRefusedAndTheFunctionKeepsServing() {
        List<String> urls = List.of(
                onLoopbackAs("127.0.0.1"),
                onLoopbackAs("127.1.2.3"),
                onLoopbackAs("[::1]"),
                onLoopbackAs("localhost"),
                onLoopbackAs("LOCALHOST"),
                onLoopbackAs("[::ffff:127.0.0.1]"),
                onLoopbackAs("[0:0:0:0:0:ffff:7f00:1]"),
                onLoopbackAs("2130706433"),
                onLoopbackAs("0.0.0.0"),
                onLoopbackAs("[::]"),
                onLoopbackAs(TestHostResolver.LOOPBACK_NAME),
                "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                "http://[fd00::1]/image.png",
                "http://10.0.0.1/image.png");
        for (String url : urls) {
            long start = System.nanoTime();
            given().contentType(ContentType.JSON).body(Map.of("imageUrl", url, "id", url))
                    .when().post("/caption")
                    .then().statusCode(400)
                    .body("code", equalTo("URL_NOT_ALLOWED"))
                    .body("id", equalTo(url))
                    .body("message", containsString("allow-private-addresses"));
            System.out.printf("%s refused in %d ms%n", url, (System.nanoTime() - start) / 1_000_000);
        }
        // a shortened spelling browsers read as 127.0.0.1 is judged as that address, not looked up
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", onLoopbackAs("127.1")))
                .when().post("/caption")
                .then().statusCode(400).body("code", equalTo("URL_NOT_ALLOWED"))
                .body("message", containsString("127.0.0.1"));
        anAllowedImageIsStillCaptioned();
    }

    @Test
    void theRefusalNamesTheAddressAndWhatKindItIs() {
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", onLoopbackAs(TestHostResolver.LOOPBACK_NAME)))
                .when().post("/caption")
                .then().statusCode(400)
                .body("message", containsString("resolves to 127.0.0.1"))
                .body("message", containsString("a loopback address"));
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", "http://169.254.169.254/latest/meta-data/"))
                .when().post("/caption")
                .then().statusCode(400).body("message", containsString("metadata"));
    }

    @Test
    void aRedirectFromAnAllowedHostToLoopbackIsRefused() {
        for (String target : List.of(loopback.image(GOOD), onLoopbackAs("localhost"),
                "http://169.254.169.254/latest/meta-data/", "http://[::1]:" + loopback.port() + "/images/" + GOOD)) {
            long start = System.nanoTime();
            given().contentType(ContentType.JSON).body(Map.of("imageUrl", storeUrl(store.redirectTo(target))))
                    .when().post("/caption")
                    .then().statusCode(400)
                    .body("code", equalTo("URL_NOT_ALLOWED"))
                    .body("message", containsString("redirected to"));
            System.out.printf("redirect to %s refused in %d ms%n", target, (System.nanoTime() - start) / 1_000_000);
        }
        anAllowedImageIsStillCaptioned();
    }

    @Test
    void aRefusedUrlInACloudEventGetsAnErrorEvent() {
        String url = onLoopbackAs("127.0.0.1");
        given().header("ce-specversion", "1.0").header("ce-id", "evt-ssrf")
                .header("ce-type", "dev.captionfn.caption.request").header("ce-source", "/test")
                .contentType(ContentType.JSON).body(Map.of("imageUrl", url))
                .when().post("/")
                .then().statusCode(200)
                .header("ce-type", "dev.captionfn.caption.error")
                .header("ce-subject", url)
                .body("code", equalTo("URL_NOT_ALLOWED"));
    }

    /** The store's URL under its host name, so that the connection is pinned to the name's address. */
    private String storeUrl(String url) {
        return url.replace("127.0.0.2", TestHostResolver.IMAGE_STORE_NAME);
    }

    private void anAllowedImageIsStillCaptioned() {
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", storeUrl(store.image(GOOD))))
                .when().post("/caption")
                .then().statusCode(200).body("caption", notNullValue());
    }
}
