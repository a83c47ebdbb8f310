//! Flattening of the metadata tree into `key__list_0__map_field` names (dotenv and INI).
