//! Oracle EBS client over ISG REST: session, module context, staging, import confirmation.
