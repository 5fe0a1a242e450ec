//! Runtime support for code generated from QAPI schemas (dispatch, policy, framing): not yet built.
