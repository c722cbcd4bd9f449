//! 导入导出: tables in and out of the database over the API (the command line does the same);
//! no page of its own.

pub mod api;
