/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "orr-types"

#include "config.h"

#include <string.h>

#include "orr-types.h"

static const char *type_names[] = {
  [ORR_DATA_TYPE_INVALID] = "invalid",
  [ORR_DATA_TYPE_BOOL] = "bool",
  [ORR_DATA_TYPE_INT16] = "int16",
  [ORR_DATA_TYPE_INT32] = "int32",
  [ORR_DATA_TYPE_INT64] = "int64",
  [ORR_DATA_TYPE_FLOAT32] = "float32",
  [ORR_DATA_TYPE_FLOAT64] = "float64",
  [ORR_DATA_TYPE_DECIMAL] = "decimal",
  [ORR_DATA_TYPE_TEXT] = "text",
  [ORR_DATA_TYPE_BINARY] = "binary",
  [ORR_DATA_TYPE_DATE] = "date",
  [ORR_DATA_TYPE_TIME] = "time",
  [ORR_DATA_TYPE_TIMESTAMP] = "timestamp",
};

const char *
orr_data_type_to_string (OrrDataType type)
{
  if ((guint) type > ORR_DATA_TYPE_LAST)
    return "invalid";
  return type_names[type];
}

OrrDataType
orr_data_type_from_string (const char *name)
{
  g_return_val_if_fail (name != NULL, ORR_DATA_TYPE_INVALID);

  for (guint i = 1; i <= ORR_DATA_TYPE_LAST; i++)
    if (g_ascii_strcasecmp (name, type_names[i]) == 0)
      return i;
  return ORR_DATA_TYPE_INVALID;
}

gsize
orr_data_type_get_width (OrrDataType type)
{
  switch (type)
    {
    case ORR_DATA_TYPE_BOOL:
      return 1;
    case ORR_DATA_TYPE_INT16:
      return 2;
    case ORR_DATA_TYPE_INT32:
    case ORR_DATA_TYPE_FLOAT32:
    case ORR_DATA_TYPE_DATE:
    case ORR_DATA_TYPE_TEXT:
    case ORR_DATA_TYPE_BINARY:
      return 4;
    case ORR_DATA_TYPE_INT64:
    case ORR_DATA_TYPE_FLOAT64:
    case ORR_DATA_TYPE_DECIMAL:
    case ORR_DATA_TYPE_TIME:
    case ORR_DATA_TYPE_TIMESTAMP:
      return 8;
    case ORR_DATA_TYPE_INVALID:
    default:
      return 0;
    }
}

gboolean
orr_data_type_is_variable (OrrDataType type)
{
  return type == ORR_DATA_TYPE_TEXT || type == ORR_DATA_TYPE_BINARY;
}
