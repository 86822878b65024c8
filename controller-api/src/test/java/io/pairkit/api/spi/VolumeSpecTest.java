package io.pairkit.api.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VolumeSpecTest {
  @Test
  void toStringMasksSecretValuesAndShowsTheRest() {
    VolumeSpec spec = VolumeSpec.builder("v", "s3")
        .property("bucket", "my-bucket")
        .property("accessKey", "AKIAVISIBLE1")
        .property("secretKey", "s3cr3t-value-1")
        .property("member.a.SECRETKEY", "s3cr3t-value-2")
        .property("auth.sessionToken", "s3cr3t-value-3")
        .property("db.Password", "s3cr3t-value-4")
        .property("token", "s3cr3t-value-5")
        .property("tokenCount", "7")
        .build();
    String text = spec.toString();
    for (String secret : new String[] {"AKIAVISIBLE1", "s3cr3t-value-1", "s3cr3t-value-2",
        "s3cr3t-value-3", "s3cr3t-value-4", "s3cr3t-value-5"}) {
      assertFalse(text.contains(secret), secret + " printed: " + text);
    }
    assertTrue(text.contains("bucket=my-bucket"), text);
    assertTrue(text.contains("secretKey=****"), text);
    assertTrue(text.contains("tokenCount=7"), "only the last dot-segment counts: " + text);
    assertTrue(text.startsWith("VolumeSpec[name=v, type=s3, "), text);
  }

  @Test
  void equalityStillUsesTheRealValues() {
    VolumeSpec a = VolumeSpec.builder("v", "s3").property("secretKey", "x").build();
    VolumeSpec b = VolumeSpec.builder("v", "s3").property("secretKey", "y").build();
    assertFalse(a.equals(b));
    assertEquals(a, VolumeSpec.builder("v", "s3").property("secretKey", "x").build());
  }
}
