package sqlite

// The static statements, prepared when the store opens. A statement run
// inside a transaction is taken from these caches; one missing here still
// works, prepared on the transaction's connection each time.

// readQueries are prepared on both pools (reads also run inside write
// transactions).
var readQueries = []string{
	qGetAccount, qGetAccountByName, qGetAccountDeletion,
	qGetMember, qGetMemberByName, qMemberCount, qMemberPK, qGroupsOfMembers, qGroupsOfMember,
	qGetGroup, qGroupExists, qCountMembers, qGroupMembersAfter, qGroupMembersMany,
	qGetRole, qListRoles, qRolePerms, qAllRolePerms, qRolePK, qRolesVersion,
	qHoldsSeat, qSeatsInUse, qSeatTotal, qSeatCheck,
	qGetInvitation, qGetInvitationByHash, qListOpenInvitations,
	qGetTokenByHash, qListTokens, qListAllTokens,
	qGetSessionByHash, qListMemberSess,
	qGetSSO, qGetSSOByID, qGetSSOByDomain, qListSSO, qSSODomains, qAllSSODomains,
	qOutboxStats,
	qGetLink, qListMemberLinks, qListSigningKeys, qCountFailures,
}

// writeQueries are prepared on the writer only.
var writeQueries = func() []string {
	qs := []string{
		qInsertAccount, qUpdateAccount, qInsertAccountDeletion,
		qInsertMember, qUpdateMember, qDeleteMember, qCountMember, qBumpMemberGroups, qDeleteMemberEdges,
		qDeleteMemberSeat, qDeleteMemberSess, qRevokeMemberToks,
		qInsertGroup, qUpdateGroup, qDeleteGroup, qDeleteEdges, qAddEdges, qRemoveEdges,
		qRemoveOtherEdges, qBumpGroup,
		qInsertRole, qUpdateRole, qDeleteRole, qInsertRolePerm, qDeleteRolePerm, qBumpRoles,
		qInsertSeat, qDeleteSeat, qSetSeatTotal,
		qInsertInvitation, qUpdateInvitation,
		qInsertToken, qTouchToken, qRevokeToken, qRevokeMemberAPITk,
		qInsertSession, qTouchSession, qRevokeSession, qRevokeMemberSess, qDeleteExpiredSess,
		qInsertSSO, qUpdateSSO, qDeleteSSO, qInsertSSODomain, qDeleteSSODomains,
		qUseOnce, qDeleteExpiredReplays,
		qPutOneTime, qTakeOneTime, qDeleteExpiredOneTimes,
		qInsertLink, qDeleteLink, qDeleteMemberLink, qDeleteConnLinks,
		qInsertSigningKey, qDeleteExpiredSigningKeys,
		qInsertFailure, qTrimFailures, qClearFailures, qDeleteFailuresBefore,
		qInsertAudit,
		qEnqueueEmail, qClaimEmails, qMarkEmailSent, qMarkEmailFailed,
		qSavepoint, qRollbackToSavepoint, qReleaseSavepoint,
	}
	qs = append(qs, qDeleteAccountRows...)
	qs = append(qs, qInsertSide[:]...)
	qs = append(qs, qInsertSides[:]...)
	return append(qs, qDeleteSide[:]...)
}()
