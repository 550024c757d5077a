package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TinyReference;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Asked, as the GPU manifests ask, for TensorRT, then CUDA, then the CPU for the vision graph and
 * for CUDA, then the CPU for the others, on a machine without a GPU, the function starts, says
 * why each GPU provider cannot be used and which graphs fall back to what, runs every graph on the
 * CPU and captions as the reference. It runs in both builds: with the default onnxruntime jar the GPU providers are not in
 * the build at all; with -Pgpu (onnxruntime_gpu) they are, and their libraries fail to load for
 * want of CUDA, and the warning names the missing library.
 */
@QuarkusTest
@TestProfile(GpuProviderFallbackTest.GpuFirst.class)
class GpuProviderFallbackTest {
    public static class GpuFirst implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("captionfn.execution-providers", "cuda,cpu",
                    "captionfn.execution-providers.vision", "tensorrt,cuda,cpu");
        }
    }

    private final ImageServer server = ImageServer.get();

    private static boolean gpuBuild() {
        return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
    }

    @Test
    void withoutAGpuItWarnsRunsOnTheCpuAndCaptionsAsTheReference() {
        TinyReference.Case c = TinyReference.cases().get(0);
        given().contentType(ContentType.JSON)
                .body(Map.of("imageUrl", server.image(c.resource()), "prompt", c.instruction()))
                .when().post("/caption")
                .then().statusCode(200).body("caption", equalTo(c.beamText()));

        JsonPath model = given().when().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'model' }.data.sessions", containsString("vision: cpu, cache off"))
                .body("checks.find { it.name == 'model' }.data.sessions", containsString("decoder: cpu, cache off"))
                .extract().jsonPath().setRootPath("checks.find { it.name == 'model' }.data");
        String tensorrt = model.getString("warning1");
        String cuda = model.getString("warning2");
        assertTrue(tensorrt.startsWith("execution provider tensorrt "), tensorrt);
        assertTrue(cuda.startsWith("execution provider cuda "), cuda);
        // the vision graph alone lists TensorRT; every graph lists CUDA
        assertTrue(tensorrt.endsWith("; the graphs that list it fall back to the next of their own: vision tensorrt,cuda,cpu"),
                tensorrt);
        assertTrue(cuda.endsWith("; the graphs that list it fall back to the next of their own: "
                + "vision tensorrt,cuda,cpu; embed cuda,cpu; decoder cuda,cpu"), cuda);
        if (gpuBuild()) {
            // onnxruntime_gpu without CUDA: each provider library is there, what it links is not
            assertTrue(tensorrt.contains("libonnxruntime_providers_") && tensorrt.contains("needs libcublas"), tensorrt);
            assertTrue(cuda.contains("libonnxruntime_providers_cuda.so needs libcublas"), cuda);
        } else {
            assertTrue(tensorrt.contains("not in this build of ONNX Runtime"), tensorrt);
            assertTrue(cuda.contains("not in this build of ONNX Runtime"), cuda);
        }

        String metrics = given().when().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String graph : new String[] {"vision", "embed", "decoder"}) {
            String sample = "captionfn_model_session_seconds{cache=\"off\",graph=\"" + graph + "\",provider=\"cpu\"}";
            assertTrue(metrics.contains(sample), sample + " in\n" + metrics);
        }
    }
}
