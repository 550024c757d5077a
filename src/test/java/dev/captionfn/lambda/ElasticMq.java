package dev.captionfn.lambda;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Map;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * A real SQS-compatible server for the tests: ElasticMQ, in this JVM, on 127.0.0.1 and a free port,
 * with the result queue made, and the application pointed at it. Region and credentials are the
 * lambda profile's test-only system properties (pom.xml); ElasticMQ checks no signature.
 */
public class ElasticMq implements QuarkusTestResourceLifecycleManager {
    static final String RESULT_QUEUE = "captionfn-results";

    private SQSRestServer server;

    @Override
    public Map<String, String> start() {
        server = SQSRestServerBuilder.withInterface("127.0.0.1").withDynamicPort().start();
        InetSocketAddress bound = server.waitUntilStarted().localAddress();
        URI endpoint = URI.create("http://127.0.0.1:" + bound.getPort());
        try (SqsClient sqs = client(endpoint)) {
            String url = sqs.createQueue(b -> b.queueName(RESULT_QUEUE)).queueUrl();
            return Map.of(
                    "quarkus.funqy.export", SqsFunction.NAME,
                    "captionfn.lambda.sqs-endpoint", endpoint.toString(),
                    "captionfn.lambda.result-queue-url", url);
        }
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stopAndWait();
        }
    }

    /** A client of the test's own, to make, read and remove queues. */
    static SqsClient client(URI endpoint) {
        return SqsClient.builder().httpClient(UrlConnectionHttpClient.create()).endpointOverride(endpoint).build();
    }
}
