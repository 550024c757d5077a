package dev.captionfn.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jboss.logmanager.ExtLogRecord;
import org.jboss.logmanager.Level;
import org.junit.jupiter.api.Test;

/**
 * SmallRye's warning about unconnected components becomes one INFO line only when Kafka is off and
 * the components are the processor's own two; any other unconnected component still warns.
 */
class KafkaOffNoticeTest {
    private static final String HEAD = "SRMSG00207: Some components are not connected to either downstream consumers or upstream producers:\n";
    private static final String OURS = "\t- Emitter{channel:'captions'} has no downstream\n"
            + "\t- SubscriberMethod{method:'dev.captionfn.kafka.KafkaCaptioner#caption', incoming:'caption-requests'} has no upstream\n";
    private static final String OTHER = "\t- IncomingConnector{channel:'audit', attribute:'mp.messaging.incoming.audit'} has no downstream\n";

    /** As SmallRye logs it: a printf format and the component list as its parameter. */
    private static ExtLogRecord warning(String logger, String components) {
        ExtLogRecord record = new ExtLogRecord(Level.WARN, HEAD.replace(":\n", ":\n%s"), ExtLogRecord.FormatStyle.PRINTF, KafkaOffNoticeTest.class.getName());
        record.setParameters(new Object[] {components});
        record.setLoggerName(logger);
        return record;
    }

    @Test
    void withKafkaOffItsOwnUnconnectedChannelsAreOneInfoLine() {
        ExtLogRecord record = warning(KafkaOffNotice.LOGGER, OURS);
        assertTrue(new KafkaOffNotice(false).isLoggable(record));
        assertEquals(java.util.logging.Level.INFO, record.getLevel());
        assertEquals(KafkaOffNotice.NOTICE, record.getFormattedMessage());
        assertTrue(record.getFormattedMessage().startsWith("the Kafka processor is off (captionfn.kafka.enabled=false)"));
    }

    @Test
    void anotherUnconnectedComponentStillWarns() {
        ExtLogRecord record = warning(KafkaOffNotice.LOGGER, OURS + OTHER);
        assertTrue(new KafkaOffNotice(false).isLoggable(record));
        assertEquals(Level.WARN, record.getLevel());
        assertTrue(record.getFormattedMessage().contains("audit"), record.getFormattedMessage());
    }

    @Test
    void withKafkaOnTheWarningStays() {
        ExtLogRecord record = warning(KafkaOffNotice.LOGGER, OURS);
        assertTrue(new KafkaOffNotice(true).isLoggable(record));
        assertEquals(Level.WARN, record.getLevel());
        assertTrue(record.getFormattedMessage().startsWith("SRMSG00207"));
    }

    @Test
    void otherLoggersAndMessagesAreLeftAlone() {
        ExtLogRecord elsewhere = warning("org.example", OURS);
        assertTrue(new KafkaOffNotice(false).isLoggable(elsewhere));
        assertEquals(Level.WARN, elsewhere.getLevel());
        ExtLogRecord info = new ExtLogRecord(Level.INFO, "SRMSG00231: Incoming channel `caption-requests` disabled by configuration",
                ExtLogRecord.FormatStyle.NO_FORMAT, KafkaOffNoticeTest.class.getName());
        info.setLoggerName(KafkaOffNotice.LOGGER);
        assertTrue(new KafkaOffNotice(false).isLoggable(info));
        assertEquals(Level.INFO, info.getLevel());
        assertTrue(info.getFormattedMessage().startsWith("SRMSG00231"));
    }
}
