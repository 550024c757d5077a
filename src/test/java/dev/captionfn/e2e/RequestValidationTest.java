package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;

import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.WrongTypes;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.Test;

/**
 * A request of the wrong shape, or with a field of the wrong JSON type, is INVALID_REQUEST naming
 * the field and the type it needs, on each HTTP way in: plain JSON (400), and CloudEvents in binary
 * and structured mode (an error event with 200, as for every permanent failure). Nothing is
 * coerced: {@code {"imageUrl": 5}} is not the URL "5".
 */
@QuarkusTest
class RequestValidationTest {
    private static final String REQUEST_TYPE = "dev.captionfn.caption.request";
    private static final String ERROR_TYPE = "dev.captionfn.caption.error";

    private final ImageServer server = ImageServer.get();

    private String image() {
        return server.image("tiny-reference/scene-04.png");
    }

    @Test
    void aPlainRequestOfTheWrongTypeIsAnInvalidRequestNamingTheField() {
        for (WrongTypes.Case c : WrongTypes.cases(image())) {
            ValidatableResponse answer = given().contentType(ContentType.JSON).body(c.json())
                    .when().post("/caption")
                    .then().statusCode(400)
                    .body("code", equalTo("INVALID_REQUEST"))
                    .body("message", equalTo(c.message()));
            if (c.hasId()) {
                answer.body("id", equalTo(c.what()));
            }
        }
    }

    @Test
    void anOptionOfTheWrongTypeNamesTheRequestItBelongsTo() {
        given().contentType(ContentType.JSON).body("{\"imageUrl\": \"" + image() + "\", \"id\": \"opt-1\", \"options\": {\"numBeams\": \"5\"}}")
                .when().post("/caption")
                .then().statusCode(400)
                .body("id", equalTo("opt-1"))
                .body("imageUrl", equalTo(image()));
    }

    @Test
    void aBinaryEventOfTheWrongTypeGetsAnErrorEventNamingTheField() {
        for (WrongTypes.Case c : WrongTypes.cases(image())) {
            given().header("ce-specversion", "1.0").header("ce-id", "evt-" + c.what()).header("ce-type", REQUEST_TYPE)
                    .header("ce-source", "/uploads").contentType(ContentType.JSON).body(c.json())
                    .when().post("/")
                    .then().statusCode(200)
                    .header("ce-type", ERROR_TYPE)
                    .header("ce-correlationid", c.hasId() ? c.what() : "evt-" + c.what())
                    .body("code", equalTo("INVALID_REQUEST"))
                    .body("message", equalTo(c.message()));
        }
    }

    @Test
    void aStructuredEventOfTheWrongTypeGetsAnErrorEventNamingTheField() {
        for (WrongTypes.Case c : WrongTypes.cases(image())) {
            String event = "{\"specversion\": \"1.0\", \"id\": \"evt-" + c.what() + "\", \"type\": \"" + REQUEST_TYPE + "\","
                    + " \"source\": \"/uploads\", \"datacontenttype\": \"application/json\", \"data\": " + c.json() + "}";
            given().contentType("application/cloudevents+json").body(event)
                    .when().post("/")
                    .then().statusCode(200)
                    .contentType(startsWith("application/cloudevents+json"))
                    .body("type", equalTo(ERROR_TYPE))
                    .body("correlationid", equalTo(c.hasId() ? c.what() : "evt-" + c.what()))
                    .body("data.code", equalTo("INVALID_REQUEST"))
                    .body("data.message", equalTo(c.message()));
        }
    }

    @Test
    void aBodyThatIsNotJsonIsAnInvalidRequest() {
        given().contentType(ContentType.JSON).body("{\"imageUrl\": ")
                .when().post("/caption")
                .then().statusCode(400)
                .body("code", equalTo("INVALID_REQUEST"))
                .body("message", startsWith("the request body is not JSON"));
        given().header("ce-specversion", "1.0").header("ce-id", "evt-not-json").header("ce-type", REQUEST_TYPE)
                .header("ce-source", "/uploads").contentType(ContentType.JSON).body("{\"imageUrl\": ")
                .when().post("/")
                .then().statusCode(200)
                .header("ce-type", ERROR_TYPE)
                .body("code", equalTo("INVALID_REQUEST"))
                .body("message", startsWith("the event's data is not JSON: "));
    }

    @Test
    void aGetWithTheRequestInItsQueryIsRefusedForPost() {
        // Funqy would read the query string into the request by its own, coercing rules
        given().queryParam("imageUrl", image()).queryParam("options.numBeams", "2")
                .when().get("/caption")
                .then().statusCode(405)
                .header("Allow", "POST")
                .body("code", equalTo("INVALID_REQUEST"))
                .body("message", equalTo("use POST with the request as a JSON body"));
    }

    @Test
    void aNullBodyIsAnEmptyRequest() {
        given().contentType(ContentType.JSON).body("null")
                .when().post("/caption")
                .then().statusCode(400)
                .body("code", equalTo("INVALID_REQUEST"))
                .body("message", startsWith("the request is empty"))
                .body("imageUrl", nullValue());
    }

    @Test
    void integralNumbersNullsAndUnknownFieldsAreAccepted() {
        given().contentType(ContentType.JSON).body(WrongTypes.acceptedVariant(image(), "variant-1"))
                .when().post("/caption")
                .then().statusCode(200)
                .body("id", equalTo("variant-1"))
                .body("caption", notNullValue());
    }
}
