package dev.captionfn.caption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.testing.WrongTypes;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The one reading of a request, as the SQS and Kafka ways in call it on raw bytes, and as any
 * ObjectMapper that binds a CaptionRequest applies it.
 */
class RequestJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String URL = "https://images.example/cat.png";

    private static byte[] bytes(String json) {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void everyWrongTypeIsAnInvalidRequestWithItsMessageAndTheRequestsId() {
        for (WrongTypes.Case c : WrongTypes.cases(URL)) {
            CaptionException e = assertThrows(CaptionException.class, () -> RequestJson.read(JSON, bytes(c.json())), c.what());
            assertEquals(ErrorCode.INVALID_REQUEST, e.code(), c.what());
            assertEquals(c.message(), e.getMessage(), c.what());
            if (c.hasId()) {
                assertEquals(c.what(), e.requestId(), c.what());
            }
        }
    }

    @Test
    void aMapperBindingTheRecordAppliesTheSameRule() {
        CaptionException e = assertThrows(CaptionException.class,
                () -> JSON.readValue("{\"imageUrl\": 5}", CaptionRequest.class));
        assertEquals(ErrorCode.INVALID_REQUEST, e.code());
        assertEquals("imageUrl must be a string, not a number", e.getMessage());
    }

    @Test
    void bytesThatAreNotJsonOrNothingAtAllAreInvalidRequests() {
        CaptionException garbage = assertThrows(CaptionException.class, () -> RequestJson.read(JSON, bytes("{not json")));
        assertEquals(ErrorCode.INVALID_REQUEST, garbage.code());
        assertTrue(garbage.getMessage().startsWith("the request is not JSON: "), garbage.getMessage());
        for (String empty : new String[] {"", "   ", "null"}) {
            CaptionException e = assertThrows(CaptionException.class, () -> RequestJson.read(JSON, bytes(empty)), "'" + empty + "'");
            assertEquals(ErrorCode.INVALID_REQUEST, e.code());
            assertTrue(e.getMessage().startsWith("the request is empty"), e.getMessage());
        }
    }

    @Test
    void aFullRequestIsReadAsWritten() {
        CaptionRequest r = RequestJson.read(JSON, bytes("{\"imageUrl\": \"" + URL + "\", \"prompt\": \"What is it?\", \"id\": \"req-1\","
                + " \"options\": {\"numBeams\": 3, \"maxNewTokens\": 20, \"minNewTokens\": 2, \"repetitionPenalty\": 1.5,"
                + " \"lengthPenalty\": -0.5, \"earlyStopping\": true}}"));
        assertEquals(new CaptionRequest(URL, "What is it?", "req-1", new CaptionOptions(3, 20, 2, 1.5, -0.5, true)), r);
    }

    @Test
    void integralNumbersNullsAndUnknownFieldsAreAccepted() {
        CaptionRequest r = RequestJson.read(JSON, bytes(WrongTypes.acceptedVariant(URL, "v-1")));
        assertEquals(new CaptionRequest(URL, null, "v-1", new CaptionOptions(2, null, null, 1.0, null, false)), r);
        assertEquals(new CaptionRequest(URL, null, null, null), RequestJson.read(JSON, bytes("{\"imageUrl\": \"" + URL + "\", \"options\": null}")));
    }

    @Test
    void fieldNamesAreMatchedAsDocumented() {
        // a name in another case is an unknown field: ignored, so the request has no imageUrl (which the service refuses)
        assertEquals(new CaptionRequest(null, null, null, null), RequestJson.read(JSON, bytes("{\"imageurl\": \"" + URL + "\"}")));
    }
}
