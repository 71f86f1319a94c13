/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * OrrDataType:
 * The column types Orrery carries, in Apache Arrow's memory layout: an
 * optional validity bitmap (bit i set = row i is not NULL, least significant
 * bit first), a values buffer and, for variable-length types, a data buffer
 * indexed by n+1 int32 offsets.
 *
 * @ORR_DATA_TYPE_BOOL: one byte per row, 0 or 1 (Arrow's "bool8" layout:
 *   numpy can wrap it without unpacking bits).
 * @ORR_DATA_TYPE_INT16/32/64, @ORR_DATA_TYPE_FLOAT32/64: native little-endian.
 * @ORR_DATA_TYPE_DECIMAL: int64 unscaled value, with the column's precision
 *   (≤ 18) and scale; the value is unscaled / 10^scale. Decimals of precision
 *   above 18 travel as FLOAT64 (as SQL Server maps decimal to float64).
 * @ORR_DATA_TYPE_TEXT: UTF-8, int32 offsets.
 * @ORR_DATA_TYPE_BINARY: bytes, int32 offsets.
 * @ORR_DATA_TYPE_DATE: int32 days since 1970-01-01.
 * @ORR_DATA_TYPE_TIME: int64 microseconds since midnight.
 * @ORR_DATA_TYPE_TIMESTAMP: int64 microseconds since 1970-01-01T00:00:00,
 *   without time zone.
 */
typedef enum {
  ORR_DATA_TYPE_INVALID = 0,
  ORR_DATA_TYPE_BOOL,
  ORR_DATA_TYPE_INT16,
  ORR_DATA_TYPE_INT32,
  ORR_DATA_TYPE_INT64,
  ORR_DATA_TYPE_FLOAT32,
  ORR_DATA_TYPE_FLOAT64,
  ORR_DATA_TYPE_DECIMAL,
  ORR_DATA_TYPE_TEXT,
  ORR_DATA_TYPE_BINARY,
  ORR_DATA_TYPE_DATE,
  ORR_DATA_TYPE_TIME,
  ORR_DATA_TYPE_TIMESTAMP,
  ORR_DATA_TYPE_LAST = ORR_DATA_TYPE_TIMESTAMP,
} OrrDataType;

const char *orr_data_type_to_string (OrrDataType type);
OrrDataType orr_data_type_from_string (const char *name);
/* Width in bytes of one value in the values buffer (int32 offsets for TEXT/BINARY). */
gsize       orr_data_type_get_width (OrrDataType type);
gboolean    orr_data_type_is_variable (OrrDataType type);

G_END_DECLS
