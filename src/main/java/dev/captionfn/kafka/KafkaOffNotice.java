package dev.captionfn.kafka;

import io.quarkus.logging.LoggingFilter;
import java.util.Set;
import java.util.logging.Filter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logmanager.ExtLogRecord;

/**
 * With the Kafka processor off (the default, {@code captionfn.kafka.enabled=false}) its two
 * channels are disabled, so SmallRye Reactive Messaging finds this package's consumer method and
 * emitter unconnected and says so at WARN (SRMSG00207), which a new user reads as a fault. The
 * consumer cannot be left out instead: whether it runs is runtime configuration, the set of
 * messaging components is fixed when the application is built, and SmallRye has no setting for
 * this check. So this filter (the console's, named in the default build's
 * microprofile-config.properties) turns exactly that warning into one INFO line saying what is off
 * and why: only when Kafka is off, and only when the components it lists are this package's own two.
 * Any other unconnected component (a misconfigured channel) still warns.
 */
@LoggingFilter(name = KafkaOffNotice.NAME)
public final class KafkaOffNotice implements Filter {
    static final String NAME = "captionfn-kafka-off";
    static final String LOGGER = "io.smallrye.reactive.messaging.provider";
    static final String UNCONNECTED = "SRMSG00207";
    static final Set<String> OUR_COMPONENTS = Set.of(
            "- Emitter{channel:'" + KafkaCaptioner.RESULTS + "'} has no downstream",
            "- SubscriberMethod{method:'" + KafkaCaptioner.class.getName() + "#caption', incoming:'" + KafkaCaptioner.REQUESTS
                    + "'} has no upstream");
    static final String NOTICE = "the Kafka processor is off (captionfn.kafka.enabled=false): its channels "
            + KafkaCaptioner.REQUESTS + " and " + KafkaCaptioner.RESULTS + " are not connected to a broker (" + UNCONNECTED + ")";

    private final boolean kafkaEnabled;

    public KafkaOffNotice(@ConfigProperty(name = "captionfn.kafka.enabled", defaultValue = "false") boolean kafkaEnabled) {
        this.kafkaEnabled = kafkaEnabled;
    }

    @Override
    public boolean isLoggable(LogRecord record) {
        if (!kafkaEnabled && isOurChannelsUnconnected(record)) {
            record.setLevel(Level.INFO);
            if (record instanceof ExtLogRecord ext) {
                ext.setMessage(NOTICE, ExtLogRecord.FormatStyle.NO_FORMAT);
            } else {
                record.setMessage(NOTICE);
                record.setParameters(null);
            }
        }
        return true;
    }

    static boolean isOurChannelsUnconnected(LogRecord record) {
        if (!LOGGER.equals(record.getLoggerName()) || record.getLevel().intValue() != Level.WARNING.intValue()) {
            return false;
        }
        // JBoss Logging keeps the format and its parameters apart until a handler formats them
        String message = record instanceof ExtLogRecord ext ? ext.getFormattedMessage() : record.getMessage();
        if (message == null || !message.startsWith(UNCONNECTED)) {
            return false;
        }
        Set<String> listed = message.lines().skip(1).map(String::strip).filter(line -> !line.isEmpty()).collect(Collectors.toSet());
        return !listed.isEmpty() && OUR_COMPONENTS.containsAll(listed);
    }
}
