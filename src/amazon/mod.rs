//! SP-API client: Login with Amazon, regional hosts, paced and paged calls, settlement downloads.
