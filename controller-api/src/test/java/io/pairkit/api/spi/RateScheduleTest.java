package io.pairkit.api.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RateScheduleTest {

  @Test
  void bookingsFollowOneAnotherAtTheRateWithoutSavedUpBursts() {
    RateSchedule schedule = new RateSchedule(1_000_000); // 1 MB/s: 1,000 bytes take 1 ms
    long first = schedule.reserve(500_000);
    long second = schedule.reserve(1_000);
    long third = schedule.reserve(1_000);
    assertEquals(TimeUnit.MILLISECONDS.toNanos(500), second - first);
    assertEquals(TimeUnit.MILLISECONDS.toNanos(1), third - second);
  }

  @Test
  void withoutACapNothingWaits() {
    RateSchedule schedule = new RateSchedule(0);
    assertEquals(0, schedule.reserve(1L << 40));
    assertEquals(0, schedule.tryStart(1L << 40));
    assertTrue(schedule.await(1L << 40, () -> false));
  }

  @Test
  void tryStartRefusesUntilTheBookedBytesHavePassed() {
    RateSchedule schedule = new RateSchedule(1_000);
    assertEquals(0, schedule.tryStart(1_000_000)); // books 1,000 s
    long again = schedule.tryStart(1);
    assertTrue(again > System.nanoTime(), "a second run must wait for the first's bytes");
    schedule.refund(1_000_000);
    assertEquals(0, schedule.tryStart(1), "refunded bytes free the schedule again");
  }

  @Test
  void awaitGivesUpWhenStoppedInsteadOfWaitingOutTheBooking() {
    RateSchedule schedule = new RateSchedule(1_000);
    schedule.reserve(1_000_000); // the next booking starts in 1,000 s
    AtomicInteger asked = new AtomicInteger();
    assertFalse(schedule.await(1, () -> asked.incrementAndGet() > 0));
    assertEquals(1, asked.get(), "a stopped caller does not park before giving up");
  }

  @Test
  void awaitReturnsOnceTheBytesMayStart() {
    RateSchedule schedule = new RateSchedule(1_000_000);
    long before = System.nanoTime();
    assertTrue(schedule.await(1_000, () -> false));
    assertTrue(schedule.await(1_000, () -> false));
    assertTrue(System.nanoTime() - before >= TimeUnit.MILLISECONDS.toNanos(1),
        "the second booking starts 1 ms after the first");
  }
}
