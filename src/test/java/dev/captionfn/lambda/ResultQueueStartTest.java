package dev.captionfn.lambda;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.config.CaptionfnConfig;
import java.lang.reflect.Proxy;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A function exported to publish SQS-fed captions refuses to start without the queue to publish them to. */
class ResultQueueStartTest {
    @Test
    void theSqsFunctionDoesNotStartWithoutAResultQueueAndSaysWhichKeyIsMissing() {
        ResultQueue queue = new ResultQueue(withoutResultQueue(), Optional.of(SqsFunction.NAME));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> queue.checkOnStart(null));
        assertTrue(e.getMessage().contains("captionfn.lambda.result-queue-url") && e.getMessage().contains("CAPTIONFN_LAMBDA_RESULT_QUEUE_URL"),
                e.getMessage());
    }

    @Test
    void theDirectFunctionStartsWithoutOne() {
        ResultQueue queue = new ResultQueue(withoutResultQueue(), Optional.of("caption"));
        assertDoesNotThrow(() -> queue.checkOnStart(null));
        queue.close();
    }

    /** Only captionfn.lambda.* is read by ResultQueue; both of its keys unset. */
    private static CaptionfnConfig withoutResultQueue() {
        CaptionfnConfig.Lambda lambda = (CaptionfnConfig.Lambda) Proxy.newProxyInstance(CaptionfnConfig.class.getClassLoader(),
                new Class<?>[] {CaptionfnConfig.Lambda.class}, (proxy, method, args) -> Optional.empty());
        return (CaptionfnConfig) Proxy.newProxyInstance(CaptionfnConfig.class.getClassLoader(), new Class<?>[] {CaptionfnConfig.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("lambda")) {
                        return lambda;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }
}
