import Foundation
import RecetteWorld

extension Doctor {
    /// What recette found in the compose project (`docker compose config`): the db service and
    /// its volume, the CMS, Meilisearch, each named as set or detected, with where the file
    /// declares it. Read-only; secrets are only said to be set.
    func composeDetectionChecks() async -> [DoctorCheck] {
        let names: ComposeNames
        let resolved: ResolvedComposeProject
        let project: ComposeProject
        do {
            project = try ComposeProject.configured(by: context)
            (names, resolved) = try await ComposeNames.resolve(context, project: project)
        } catch {
            return [DoctorCheck(name: "compose services", outcome: .missing, detail: "\(error)", fix: nil, required: true)]
        }
        let detection = ComposeServiceDetection(resolved)
        func place(_ service: String) -> String {
            ComposeServiceDetection.declaration(of: service, in: project.files).map { ", \($0)" } ?? ""
        }
        var checks: [DoctorCheck] = []
        if let service = resolved.services[names.dbService] {
            let database = detection.describeDatabase(name: names.dbService, service: service)
            let mount = service.volumes.first { $0.type == "volume" && $0.source == names.dbVolume }
            let volume = mount.map { "volume \(names.dbVolume) (\(names.dbVolumeOrigin.rawValue)) at \($0.target)" }
                ?? "no volume \(names.dbVolume) mounted (\(names.dbVolumeOrigin.rawValue)): set RECETTE_DB_VOLUME"
            let image = service.image.map { "image \($0)" } ?? "no image"
            var check = DoctorCheck(name: "compose db service", outcome: mount == nil ? .missing : .ok,
                                    detail: "\(names.dbService) (\(names.dbServiceOrigin.rawValue)\(place(names.dbService))), \(image), \(volume), database '\(database.database)' as '\(database.user)'",
                                    fix: nil, required: true)
            if let refusal = PostgresImagePin.refusal(image: service.image, service: names.dbService, archiveMajor: nil) {
                check.outcome = check.outcome == .ok ? .warning : check.outcome
                check.fix = refusal
            }
            checks.append(check)
        } else {
            checks.append(DoctorCheck(name: "compose db service", outcome: .missing,
                                      detail: "no service '\(names.dbService)' (\(names.dbServiceOrigin.rawValue)) among \(resolved.services.keys.sorted().joined(separator: ", "))",
                                      fix: "set RECETTE_DB_SERVICE (recette.yml: compose.db_service)", required: true))
        }
        let health = names.detectedCMSHealthURL.map { "\($0) (detected)" } ?? (context.configuration[.cmsHealthURL] ?? "-")
        checks.append(DoctorCheck(name: "compose cms service", outcome: resolved.services[names.cmsService] == nil ? .warning : .ok,
                                  detail: "\(names.cmsService) (\(names.cmsServiceOrigin.rawValue)\(place(names.cmsService)))"
                                      + (resolved.services[names.cmsService]?.builds == true ? ", built by compose" : "") + ", health URL \(health)",
                                  fix: resolved.services[names.cmsService] == nil ? "set RECETTE_CMS_SERVICE (recette.yml: search.cms_service)" : nil, required: false))
        if let meilisearch = detection.meilisearch() {
            checks.append(DoctorCheck(name: "compose meilisearch service", outcome: .ok,
                                      detail: "\(meilisearch.service) (detected\(place(meilisearch.service))), "
                                          + "URL \(meilisearch.url ?? "not published"), master key \(meilisearch.masterKey == nil ? "not set" : "*** (set)")",
                                      fix: nil, required: false))
        }
        return checks
    }
}
