package dev.captionfn.lambda;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;

import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.WrongTypes;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.Test;

/**
 * A direct invocation whose payload has the wrong shape, or a field of the wrong JSON type, fails
 * as every other failure does on Lambda: an errorMessage that starts with INVALID_REQUEST, then
 * names the field and the type it needs, then the request's id when it has a readable one. (The
 * same application as LambdaFunctionTest: its profile, so that Quarkus starts once for both.)
 */
@QuarkusTest
@TestProfile(LambdaFunctionTest.OnLambda.class)
class LambdaRequestValidationTest {
    private final ImageServer server = ImageServer.get();

    @Test
    void aPayloadOfTheWrongTypeIsAnInvalidRequestNamingTheField() {
        for (WrongTypes.Case c : WrongTypes.cases(server.image("tiny-reference/scene-06.png"))) {
            ValidatableResponse answer = given().contentType(ContentType.JSON).body(c.json())
                    .when().post()
                    .then().statusCode(500)
                    .body("errorType", equalTo("io.quarkus.funqy.runtime.ApplicationException"))
                    .body("errorMessage", startsWith("INVALID_REQUEST: " + c.message()));
            if (c.hasId()) {
                answer.body("errorMessage", endsWith(" [id=" + c.what() + "]"));
            }
        }
    }

    @Test
    void integralNumbersNullsAndUnknownFieldsAreAccepted() {
        given().contentType(ContentType.JSON).body(WrongTypes.acceptedVariant(server.image("tiny-reference/scene-06.png"), "lambda-variant"))
                .when().post()
                .then().statusCode(200)
                .body("id", equalTo("lambda-variant"))
                .body("caption", notNullValue());
    }
}
