package dev.captionfn.deploy;

import static dev.captionfn.deploy.Manifests.containers;
import static dev.captionfn.deploy.Manifests.env;
import static dev.captionfn.deploy.Manifests.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.captionfn.testing.AppProcess;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged application reads the GPU Service's providers per graph from its environment, in
 * exactly the variables the manifest sets (CAPTIONFN_EXECUTION_PROVIDERS_VISION, …), and refuses a
 * variable that names no graph. Run as the init container runs it, {@code prepare}, on this machine
 * without a GPU: the vision graph alone tries TensorRT, every graph tries CUDA, each falls back, and
 * the warnings say which graphs fall back to what.
 */
class GpuProvidersFromEnvironmentIT {
    private static final String SERVICE = "serving.knative.dev/v1/Service";

    @TempDir
    Path tmp;

    /** The provider variables of the GPU Service's serving container. */
    private static Map<String, String> gpuServiceProviders() {
        for (Manifest service : Manifests.load(Path.of("deploy", "knative")).runningCaptionfn(SERVICE)) {
            for (JsonNode container : containers(service)) {
                if (text(container, "image").endsWith(":gpu")) {
                    Map<String, String> providers = new LinkedHashMap<>();
                    env(container).forEach((name, value) -> {
                        if (name.startsWith("CAPTIONFN_EXECUTION_PROVIDERS")) {
                            providers.put(name, value);
                        }
                    });
                    return providers;
                }
            }
        }
        throw new AssertionError("no Knative Service under deploy/knative runs captionfn:gpu");
    }

    @Test
    void theManifestsVariablesPutEachGraphOnItsOwnProviders() throws Exception {
        Map<String, String> environment = new LinkedHashMap<>(gpuServiceProviders());
        assertEquals(Map.of("CAPTIONFN_EXECUTION_PROVIDERS", "cuda,cpu", "CAPTIONFN_EXECUTION_PROVIDERS_VISION", "tensorrt,cuda,cpu"),
                environment);
        environment.put("CAPTIONFN_CACHE_DIR", tmp.resolve("cache").toString());
        try (AppProcess prepare = AppProcess.withEnvironment(environment, List.of("prepare"))) {
            assertEquals(0, prepare.waitForExit(180), prepare.log());
            List<String> warnings = prepare.logLines().stream().filter(line -> line.contains(" WARN ")
                    && line.contains("execution provider ")).toList();
            assertEquals(2, warnings.size(), prepare.log());
            assertTrue(warnings.get(0).contains("execution provider tensorrt ")
                    && warnings.get(0).endsWith("the graphs that list it fall back to the next of their own: vision tensorrt,cuda,cpu"),
                    warnings.get(0));
            assertTrue(warnings.get(1).contains("execution provider cuda ") && warnings.get(1).endsWith(
                    "the graphs that list it fall back to the next of their own: vision tensorrt,cuda,cpu; embed cuda,cpu; decoder cuda,cpu"),
                    warnings.get(1));
        }
    }

    @Test
    void aVariableThatNamesNoGraphStopsStartupNamingTheGraphs() throws Exception {
        try (AppProcess prepare = AppProcess.withEnvironment(Map.of("CAPTIONFN_EXECUTION_PROVIDERS_VISON", "tensorrt,cpu"),
                List.of("prepare"), "captionfn.cache.dir=" + tmp.resolve("cache"))) {
            int status = prepare.waitForExit(120);
            assertNotEquals(0, status, prepare.log());
            assertNotEquals(-1, status, "still running:\n" + prepare.log());
            assertTrue(prepare.log().contains("vison") && prepare.log().contains("vision,embed,decoder"), prepare.log());
            assertFalse(prepare.log().contains("prepared model"), prepare.log());
        }
    }
}
