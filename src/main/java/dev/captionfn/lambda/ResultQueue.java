package dev.captionfn.lambda;

import dev.captionfn.caption.OutgoingEvent;
import dev.captionfn.config.CaptionfnConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;
import java.util.Map;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.SqsClientBuilder;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;

/**
 * The queue the SQS-fed function publishes its events to ({@code captionfn.lambda.result-queue-url}),
 * through the AWS SDK's SQS client. Region and credentials come from the SDK's default chains: on
 * Lambda, the function's region and its role.
 *
 * <p>Where {@link SqsFunction} is the exported function the queue must be configured, and the
 * client is made during init: a function that cannot publish must not start and take messages.
 */
@ApplicationScoped
public class ResultQueue {
    /** Message attribute with the body's media type, for consumers and EventBridge Pipes filters. */
    static final String CONTENT_TYPE = "content-type";
    private static final Logger LOG = Logger.getLogger(ResultQueue.class);

    private final CaptionfnConfig.Lambda config;
    private final Optional<String> exported;
    private volatile SqsClient client;

    public ResultQueue(CaptionfnConfig config, @ConfigProperty(name = "quarkus.funqy.export") Optional<String> exported) {
        this.config = config.lambda();
        this.exported = exported;
    }

    /** Before LambdaInit waits minutes for the model: a function that cannot publish fails its init at once. */
    void checkOnStart(@Observes @Priority(Interceptor.Priority.APPLICATION) StartupEvent event) {
        if (!exported.filter(SqsFunction.NAME::equals).isPresent()) {
            return;
        }
        String url = config.resultQueueUrl().orElseThrow(() -> new IllegalStateException(
                "captionfn.lambda.result-queue-url (env CAPTIONFN_LAMBDA_RESULT_QUEUE_URL) is not set: the function "
                        + SqsFunction.NAME + " publishes every caption to that SQS queue and has nowhere to put them"));
        client();
        LOG.infof("publishing captions and permanent failures to %s", url);
    }

    /**
     * Sends one structured CloudEvent and returns once SQS has it: SQS's message id. Blocks; throws
     * the SDK's exception when SQS does not take it (after the SDK's own retries).
     */
    String send(String event) {
        String url = config.resultQueueUrl().orElseThrow(
                () -> new IllegalStateException("captionfn.lambda.result-queue-url is not set"));
        return client().sendMessage(b -> b.queueUrl(url)
                        .messageBody(event)
                        .messageAttributes(Map.of(CONTENT_TYPE, MessageAttributeValue.builder()
                                .dataType("String").stringValue(OutgoingEvent.STRUCTURED_CONTENT_TYPE).build())))
                .messageId();
    }

    private SqsClient client() {
        SqsClient c = client;
        if (c == null) {
            synchronized (this) {
                c = client;
                if (c == null) {
                    // the JDK's HttpURLConnection: one blocking call per message needs no pool of its own
                    SqsClientBuilder builder = SqsClient.builder().httpClient(UrlConnectionHttpClient.create());
                    config.sqsEndpoint().ifPresent(builder::endpointOverride);
                    client = c = builder.build();
                }
            }
        }
        return c;
    }

    @PreDestroy
    void close() {
        SqsClient c = client;
        if (c != null) {
            c.close();
        }
    }
}
